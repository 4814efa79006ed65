"""The ``Promotion`` store records, written only here: one record per promotion (labels ``chain``,
``stage``, ``state``, ``commit`` for queries) and an append-only history ``promotion/<id>`` of every
state it went through. ``claim_landing`` makes sure one server lands a promotion's commit, once.
"""

from __future__ import annotations

import builtins
import hashlib

from gitloop.ports import Store
from gitloop.promote.machine import Promotion

KIND = "Promotion"


def promotion_id(chain: str, to_stage: str, source_commit: str, attempt: int = 0) -> str:
    """A readable, stable id: ``<chain>-<stage>-<commit 7>-<digest 6>`` (``attempt`` after a final one)."""
    key = f"{chain}/{to_stage}/{source_commit}/{attempt}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:6]
    return f"{chain}-{to_stage}-{source_commit[:7]}-{digest}".lower()


class PromotionRecords:
    """Promotions in the store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def save(self, promotion: Promotion) -> None:
        """Store ``promotion`` and, when its state changed, a history entry."""
        earlier = self.get(promotion.id)
        labels = {
            "chain": promotion.chain,
            "stage": promotion.to_stage,
            "state": promotion.state,
            "commit": promotion.source_commit,
        }
        self._store.put(KIND, promotion.id, promotion.to_dict(), labels=labels)
        if earlier is None or earlier.state != promotion.state or earlier.approvals != promotion.approvals:
            entry: dict[str, object] = {
                "time": promotion.updated,
                "state": promotion.state,
                "message": promotion.message,
                "approvals": [a.user for a in promotion.approvals],
            }
            self._store.append_history(f"promotion/{promotion.id}", entry)

    def get(self, promotion_id: str) -> Promotion | None:
        found = self._store.get(KIND, promotion_id)
        return None if found is None else Promotion.from_dict(dict(found.doc))

    def list(
        self,
        *,
        chain: str | None = None,
        stage: str | None = None,
        state: str | None = None,
        commit: str | None = None,
    ) -> list[Promotion]:
        """Promotions, newest first, filtered by exact chain, stage, state and source commit."""
        wanted = (("chain", chain), ("stage", stage), ("state", state), ("commit", commit))
        labels = {k: v for k, v in wanted if v}
        return [Promotion.from_dict(dict(o.doc)) for o in self._store.query(KIND, labels=labels or None)]

    def open_for(self, chain: str, stage: str, source_commit: str) -> Promotion | None:
        """The promotion of ``source_commit`` into ``stage`` that has not ended, if any."""
        for found in self._store.query(
            KIND, labels={"chain": chain, "stage": stage, "commit": source_commit}
        ):
            promotion = Promotion.from_dict(dict(found.doc))
            if not promotion.final:
                return promotion
        return None

    def next_id(self, chain: str, stage: str, source_commit: str) -> str:
        """An id not used yet for this chain, stage and commit."""
        attempt = 0
        while self._store.get(KIND, promotion_id(chain, stage, source_commit, attempt)) is not None:
            attempt += 1
        return promotion_id(chain, stage, source_commit, attempt)

    def claim_landing(self, promotion_id: str) -> bool:
        """Whether this caller is the first to land ``promotion_id``'s config commit."""
        return self._store.append_history(f"promotion/{promotion_id}/landing", {"op": "claim"}) == 0

    def history(self, promotion_id: str) -> builtins.list[dict[str, object]]:
        return [dict(e.doc) for e in self._store.history(f"promotion/{promotion_id}")]
