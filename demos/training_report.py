"""A training run's progress as Markdown for the Train tab."""

import time


def markdown(state, metric, details=""):
    """The progress of a run for the page.

    Args:
        state: `TrainingJob.snapshot()`.
        metric: the validation metric reported, e.g. `"bleu"`.
        details: a line about the run (data, settings).
    """
    status = state["status"]
    title = f"**{state['task']} model `{state['name']}`**"
    lines = []
    if status in ("starting", "running"):
        lines.append(f"{title}: training — {_where(state)}")
        left = time_left(state)
        if left is not None:
            lines.append(f"About {_duration(left)} left.")
    elif status == "cancelling":
        lines.append(f"{title}: cancelling — saving the finished epochs…")
    elif status == "done":
        lines.append(f"{title}: done. It is in the {state['task']} model list now.")
    elif status == "interrupted":
        lines.append(
            f"{title}: cancelled after {len(state['epochs'])} finished epoch(s); "
            "the best of them is saved and in the model list."
        )
    elif status == "cancelled":
        lines.append(
            f"{title}: cancelled before the first epoch finished; nothing was saved."
        )
    else:
        lines.append(f"{title}: training failed: {state['error']}")
    if details:
        lines += ["", details]
    if state.get("valid_pairs"):
        lines.append(
            f"{state['valid_pairs']:,} validation pairs are decoded and scored "
            f"({metric}) after each epoch."
        )
    if state["epochs"]:
        lines += ["", _table(state["epochs"], metric)]
    return "\n".join(lines)


def _where(state):
    step, epochs = state["step"], state["epochs"]
    if step and (not epochs or step["epoch"] > epochs[-1]["epoch"]):
        # Length buckets make more batches than the estimate says.
        steps = step.get("steps")
        of = f"/{steps}" if steps and step["step"] <= steps else ""
        loss = "" if step.get("loss") is None else f" · loss {step['loss']:.3f}"
        return f"epoch {step['epoch']}/{step['epochs']} · step {step['step']}{of}{loss}"
    if epochs:
        return f"epoch {epochs[-1]['epoch']}/{epochs[-1]['epochs']} done"
    return "starting (loading the libraries and the data)…"


def time_left(state, now=None):
    """Seconds the run has left, or None before there is an estimate."""
    if state["finished"]:
        return 0.0
    now = time.time() if now is None else now
    step, epochs = state["step"], state["epochs"]
    # Two finished epochs time the rest best; before, the step estimate
    # (steps come every few batches) or the first epoch, which also counts
    # the start-up.
    if len(epochs) < 2 and step and step.get("time_left") is not None:
        return max(0.0, step["time_left"] - (now - step["_time"]))
    if not epochs:
        return None
    total = epochs[-1].get("epochs") or len(epochs)
    if len(epochs) >= 2:
        per_epoch = (epochs[-1]["_time"] - epochs[0]["_time"]) / (len(epochs) - 1)
    else:
        per_epoch = epochs[0]["_time"] - state["started"]
    left = (total - epochs[-1]["epoch"]) * per_epoch
    return max(0.0, left - (now - epochs[-1]["_time"]))


def _table(epochs, metric, last=8):
    metric = f"val_{metric}"
    rows = [f"| epoch | loss | val_loss | {metric} |", "|---:|---:|---:|---:|"]
    for record in epochs[-last:]:
        rows.append(
            f"| {record['epoch']}/{record.get('epochs', '?')} "
            f"| {_number(record.get('loss'))} "
            f"| {_number(record.get('val_loss'))} "
            f"| {_number(record.get(metric), 2)} |"
        )
    return "\n".join(rows)


def _number(value, digits=4):
    return "–" if value is None else f"{value:.{digits}f}"


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
