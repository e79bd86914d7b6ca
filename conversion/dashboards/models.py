"""The dashboard's precomputed aggregate: how long requests stayed in each state, as a histogram.

One row per (node, state, duration bucket) counts the finished visits of that state whose length
falls in the bucket; a transition adds its visit in its own transaction (signal
requests.signals.request_changed), so the "Time in each state" medians read a few hundred rows
instead of the whole history. Buckets grow geometrically (BUCKET_RATIO: each 2 % wider than the
last, from one minute) and keep the total of their lengths: a median read from them is the mean of the
visits in the middle bucket, exact when they are alike and within 2 % of the exact one otherwise.
Rows with node_id ALL_NODES (-1) add up every node's (migration 0017), kept with them: the
coordinator's medians read one range of the primary key, as a node's staff do."""

from __future__ import annotations

import math

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

BUCKET_RATIO = 1.02
ALL_NODES = -1  # node_id of the rows that add up every node's
_LOG_RATIO = math.log(BUCKET_RATIO)


def bucket_of(days: float) -> int:
    """The histogram bucket of a visit lasting `days`."""
    return int(math.log1p(max(days, 0.0) * 1440.0) / _LOG_RATIO)


class StateDuration(db.Model):
    __tablename__ = "state_durations"

    # the request's node when it left the state; 0: no node (submitted, approved); -1: all nodes
    node_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(30), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    days: Mapped[float] = mapped_column(Float, default=0.0)  # their total length: the bucket's mean
