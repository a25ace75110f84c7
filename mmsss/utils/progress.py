"""Progress with ETA for long offline loops (pseudo-label generation, the
stage pipeline's pseudo-mask passes, dataset tools).

On a terminal, mmengine's ``ProgressBar`` (a bar redrawn in place with
tasks/s, elapsed and ETA). When the output is not a terminal (a log file,
a batch job, a pipe: ``file.isatty()`` is False), a bar would fill the log
with carriage returns, so a log line with done/total, rate and ETA is
printed every ``log_interval`` seconds and once at the end instead. Silent
on non-zero ranks (each rank's shard takes about as long as rank 0's), and
when ``enabled`` is False.
"""
import sys
import time
from typing import Iterable, Iterator, TypeVar

from mmengine import dist
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

__all__ = ['Progress', 'track']

T = TypeVar('T')


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f'{s} s'
    if s < 3600:
        return f'{s // 60} min {s % 60:02d} s'
    return f'{s // 3600} h {s % 3600 // 60:02d} min'


class Progress:
    """Progress of ``total`` tasks.

    Args:
        total (int): Number of tasks.
        desc (str): What is being done (start of every line).
        enabled (bool): False: silent. Defaults to True.
        file: Stream of the bar (default ``sys.stdout``); whether it is a
            terminal decides bar vs log lines.
        log_interval (float): Seconds between log lines when not a
            terminal. Defaults to 30.
    """

    def __init__(self,
                 total: int,
                 desc: str,
                 enabled: bool = True,
                 file=None,
                 log_interval: float = 30.) -> None:
        self.total = int(total)
        self.desc = desc
        self.file = sys.stdout if file is None else file
        self.log_interval = float(log_interval)
        self.done = 0
        self.start = self.last_log = time.time()
        self.active = bool(enabled) and dist.get_rank() == 0 and total > 0
        isatty = getattr(self.file, 'isatty', None)
        self.tty = bool(isatty()) if callable(isatty) else False
        self.bar = None
        if self.active and self.tty:
            self.file.write(f'{desc}\n')
            self.bar = ProgressBar(self.total, file=self.file)

    def line(self) -> str:
        """``desc: done/total (pct), rate, elapsed, ETA``."""
        elapsed = time.time() - self.start
        rate = self.done / elapsed if elapsed > 0 else float('inf')
        eta = (self.total - self.done) / rate if rate > 0 else float('inf')
        pct = 100. * self.done / max(self.total, 1)
        text = (f'{self.desc}: {self.done}/{self.total} ({pct:.0f}%), '
                f'{rate:.1f}/s, elapsed {_fmt_seconds(elapsed)}')
        if self.done < self.total:
            text += f', ETA {_fmt_seconds(eta)}'
        return text

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.active:
            return
        if self.bar is not None:
            self.bar.update(n)
            if self.done >= self.total:
                self.file.write('\n')
                self.file.flush()
            return
        now = time.time()
        if self.done >= self.total or now - self.last_log >= \
                self.log_interval:
            self.last_log = now
            print_log(self.line(), logger='current')


def track(iterable: Iterable[T],
          total: int,
          desc: str,
          enabled: bool = True,
          file=None,
          log_interval: float = 30.) -> Iterator[T]:
    """Yield the items of ``iterable`` and report :class:`Progress` after
    each (the iterable itself is untouched, so the loop computes exactly
    what it did without progress)."""
    progress = Progress(total, desc, enabled, file, log_interval)
    for item in iterable:
        yield item
        progress.update()
