"""Environments and promotion (``docs/promotion.md``): a ``PromotionChain`` (``gitloop.spec.gitloop_promotion``)
names ordered stages; a ``Promotion`` moves all images of one source commit from a stage to the next.

- ``rules``: when an automatic stage takes a change (``judge_auto``), pure;
- ``approvals``: who may approve, when there are enough (``refusal``, ``enough``), pure;
- ``machine``: the promotion state machine (``start``, ``observe``, ``approve``, ``reject``,
  ``landed``, ``failed``, ``superseded``), pure;
- ``message``: the promotion commit's message and trailers, and reading them back;
- ``records``: the ``Promotion`` store records, written only there.

The composition (observing Applications, landing the commit through the handoff) is not here: an
engine never imports another engine or an adapter.
"""

from gitloop.promote.approvals import Approval
from gitloop.promote.machine import (
    FAILED,
    PENDING,
    PROMOTING,
    REJECTED,
    STATES,
    SUCCEEDED,
    SUPERSEDED,
    WAITING_APPROVAL,
    ApprovalRefused,
    Promotion,
    PromotionError,
)
from gitloop.promote.records import KIND, PromotionRecords, promotion_id
from gitloop.promote.rules import UpstreamStatus

__all__ = [
    "FAILED",
    "KIND",
    "PENDING",
    "PROMOTING",
    "REJECTED",
    "STATES",
    "SUCCEEDED",
    "SUPERSEDED",
    "WAITING_APPROVAL",
    "Approval",
    "ApprovalRefused",
    "Promotion",
    "PromotionError",
    "PromotionRecords",
    "UpstreamStatus",
    "promotion_id",
]
