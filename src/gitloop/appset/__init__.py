"""The ApplicationSet engine: generators turn an ApplicationSet's generators and their inputs (a git tree,
the cluster registry) into parameter sets (``generators``), the templates render one Application per set
(``templates``), and the controller applies the ApplicationSet's policy to the Applications it owns
(``controller``). Pure: git and clusters come through the Protocols of ``ports``.
"""
