"""The commit message of a promotion: what moved where, then the trailers that make git the audit trail
of promotions — the source commit, the promotion id and one ``Gitloop-Approved-By`` per approver
(names in :mod:`gitloop.model.trailers`; ``read_promotion`` reads them back from a commit message).
"""

from __future__ import annotations

from dataclasses import dataclass

from gitloop.model.trailers import (
    TRAILER_APPROVED_BY,
    TRAILER_PROMOTION,
    TRAILER_SOURCE_COMMIT,
    parse_trailers,
    trailer_values,
)
from gitloop.promote.approvals import approvers
from gitloop.promote.machine import Promotion


def promotion_trailers(promotion: Promotion) -> list[tuple[str, str]]:
    """The trailers of ``promotion``'s config commit, in order."""
    trailers = [(TRAILER_SOURCE_COMMIT, promotion.source_commit), (TRAILER_PROMOTION, promotion.id)]
    trailers.extend((TRAILER_APPROVED_BY, user) for user in approvers(promotion.approvals))
    return trailers


def promotion_message(promotion: Promotion) -> str:
    """The whole commit message: a subject, the images, then the trailers."""
    subject = (
        f"Promote {promotion.source_commit[:12]} from {promotion.from_stage} to {promotion.to_stage} "
        f"({promotion.chain})"
    )
    body = "\n".join(f"- {image}" for image in promotion.images)
    trailers = "\n".join(f"{key}: {value}" for key, value in promotion_trailers(promotion))
    return f"{subject}\n\n{body}\n\n{trailers}\n"


@dataclass(frozen=True)
class PromotionTrailers:
    """What a commit message says about the promotion it made (empty fields when it made none)."""

    promotion: str
    source_commit: str
    approved_by: tuple[str, ...]


def read_promotion(message: str) -> PromotionTrailers | None:
    """The promotion trailers of a commit message; ``None`` when it is not a promotion's commit."""
    trailers = parse_trailers(message)
    if TRAILER_PROMOTION not in trailers:
        return None
    return PromotionTrailers(
        promotion=trailers[TRAILER_PROMOTION],
        source_commit=trailers.get(TRAILER_SOURCE_COMMIT, ""),
        approved_by=tuple(trailer_values(message, TRAILER_APPROVED_BY)),
    )
