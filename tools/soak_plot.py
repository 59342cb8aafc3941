#!/usr/bin/python3
"""Plot a `switchboard-bench --mode=soak` result over time.

Usage: tools/soak_plot.py RESULT.json OUT.png [--title TEXT]

RESULT.json is the one JSON object the soak prints on stdout. Four panels share
the time axis: the node's RSS; its open fds and /stats connections; the hub's
mailbox (from /metrics, sampled); connection lifetimes completed and messages
held in history. The state before the load is a hollow marker at t = 0, the
state after the load and the settle time a filled one at the right. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    with open(path, encoding="utf-8") as f:
        result = json.load(f)
    samples = result.get("samples") or []
    if not samples:
        sys.exit(f"{path}: no samples (was it a soak run with --sample-every?)")
    return result, samples


def series(samples, key, scale=1.0):
    """(times in minutes, values) of the samples where `key` is known (>= 0)."""
    pts = [(s["t"] / 60.0, s[key] * scale) for s in samples if s.get(key, -1) >= 0]
    return [p[0] for p in pts], [p[1] for p in pts]


def marks(result, samples, ax, key, scale=1.0, **style):
    """Mark the value before the load (t = 0, hollow) and after the load and the settle
    time (filled, at the right), where the run has them."""
    before = (result.get("baseline") or {}).get(key, -1)
    if before >= 0:
        ax.plot([0], [before * scale], marker="o", fillstyle="none", linestyle="none", **style)
    fin = (result.get("final") or {}).get(key, -1)
    if fin >= 0:
        t = samples[-1]["t"] / 60.0 + max(result.get("settle_s", 0), 0.5) / 60.0
        ax.plot([t], [fin * scale], marker="o", linestyle="none", **style)


def plot(result, samples, out, title):
    fig, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    rss, conns, mailbox, life = axes

    rss.plot(*series(samples, "rss_kb", 1 / 1024), color="tab:blue", label="RSS")
    marks(result, samples, rss, "rss_kb", 1 / 1024, color="tab:blue")
    rss.set_ylabel("node RSS (MiB)")
    rss.set_ylim(bottom=0)
    rss.legend(loc="lower right")

    conns.plot(*series(samples, "fds"), color="tab:orange", label="node fds")
    conns.plot(*series(samples, "server_conns"), color="tab:green", label="connections (/stats)")
    marks(result, samples, conns, "fds", color="tab:orange")
    marks(result, samples, conns, "server_conns", color="tab:green")
    conns.set_ylabel("count")
    conns.set_ylim(bottom=0)
    conns.legend(loc="lower right")

    t, m = series(samples, "hub_mailbox")
    mailbox.plot(t, m, color="tab:red", marker=".", linestyle="-", label="hub mailbox")
    mailbox.set_ylabel("hub mailbox (messages)")
    mailbox.set_ylim(bottom=0, top=max(m + [1]) * 1.2 + 1)
    mailbox.legend(loc="upper right")

    t, c = series(samples, "cycles", 1 / 1000)
    life.plot(t, c, color="tab:purple", label="lifetimes completed (thousands)")
    life.set_ylabel("lifetimes (thousands)")
    life.set_xlabel("minutes since the load started")
    life.set_ylim(bottom=0)
    hist = life.twinx()
    hist.plot(*series(samples, "history_messages"), color="tab:gray", linestyle="--", label="messages in history")
    hist.set_ylabel("messages in history")
    hist.set_ylim(bottom=0)
    lines = life.get_legend_handles_labels()
    lines2 = hist.get_legend_handles_labels()
    life.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right")

    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result")
    ap.add_argument("out")
    ap.add_argument("--title", default="switchboard soak")
    a = ap.parse_args()
    result, samples = load(a.result)
    plot(result, samples, a.out, a.title)


if __name__ == "__main__":
    main()
