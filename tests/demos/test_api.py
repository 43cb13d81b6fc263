"""The launched demo app, through `gradio_client`: every endpoint, the
errors it shows for bad requests, and a model trained from an upload that
then serves."""

import json
import time

import httpx
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from keras_attn.data import load_dailydialog
from tests.demos.conftest import DIALOGUE_HISTORY
from tests.demos.conftest import MAX_INPUT_CHARS
from tests.demos.conftest import only_tensorflow
from tests.models.corpus import reversal_pairs

pytestmark = only_tensorflow

PNG = b"\x89PNG\r\n\x1a\n"
ENDPOINTS = {
    "/translate",
    "/summarize",
    "/chat",
    "/clear_chat",
    "/train",
    "/cancel_training",
    "/training_status",
    "/train_task_changed",
    "/refresh",
    "/list_models",
    "/translation_model_info",
    "/summarization_model_info",
    "/dialogue_model_info",
}
# /train's inputs after the task: data source, upload, columns, mode, base
# model, name, epochs, attention, hidden, embedding and vocabulary sizes.
TINY_MODEL = ("bahdanau", 16, 16, 500)


def is_png(path):
    with open(path, "rb") as file:
        return file.read(8) == PNG


def translate(client, text="alpha beta gamma", model="tiny", decoding="greedy"):
    return client.predict(text, model, decoding, 3, api_name="/translate")


def train(client, task, upload, name, epochs=1, data="uploaded file", **kwargs):
    return client.submit(
        task,
        data,
        None if upload is None else handle_file(str(upload)),
        kwargs.get("columns", ""),
        kwargs.get("mode", "new model"),
        kwargs.get("base"),
        name,
        epochs,
        *TINY_MODEL,
        api_name="/train",
    )


def text_of(message):
    content = message["content"]
    if isinstance(content, str):
        return content
    return " ".join(part["text"] for part in content if part.get("type") == "text")


def test_every_event_has_an_api_name(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) >= ENDPOINTS
    assert not api["unnamed_endpoints"]


def test_translate_gives_the_output_its_heatmap_and_a_note(client):
    for decoding in ("greedy", "beam search"):
        output, heatmap, note = translate(client, decoding=decoding)
        assert isinstance(output, str)
        assert is_png(heatmap)
        assert "**tiny**" in note and "bahdanau attention" in note
    assert "beam search (3 beams)" in note


@pytest.mark.parametrize("model", ["tiny", "baseline"])
def test_concurrent_requests_get_the_answers_of_one_at_a_time(client, model):
    # Sentences of different lengths, so a batch pads its shorter rows.
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    texts = [" ".join(words[: 1 + i % len(words)]) for i in range(8)]
    alone = [translate(client, text, model)[0] for text in texts]
    # Eight at once, with the same settings: decoded in batches.
    jobs = [
        client.submit(text, model, "greedy", 3, api_name="/translate") for text in texts
    ]
    together = [job.result(timeout=120) for job in jobs]
    assert [output for output, _, _ in together] == alone
    for text, (_, heatmap, note) in zip(texts, together, strict=True):
        assert (heatmap is not None and is_png(heatmap)) == (model == "tiny"), text
        assert "greedy search" in note


def test_a_bad_request_among_concurrent_ones_fails_alone(client):
    texts = ["alpha beta", "x" * (MAX_INPUT_CHARS + 1), "gamma delta", "beta"]
    jobs = [
        client.submit(text, "tiny", "greedy", 3, api_name="/translate")
        for text in texts
    ]
    for text, job in zip(texts, jobs, strict=True):
        if len(text) > MAX_INPUT_CHARS:
            with pytest.raises(AppError, match="characters"):
                job.result(timeout=120)
        else:
            output, heatmap, _ = job.result(timeout=120)
            assert isinstance(output, str) and is_png(heatmap)


def test_a_model_without_attention_answers_and_says_it_has_no_heatmap(client):
    output, heatmap, note = translate(client, model="baseline")
    assert isinstance(output, str) and heatmap is None
    assert "no attention" in note and "no alignment heatmap" in note


def test_summarize(client):
    subject, heatmap, note = client.predict(
        "alpha beta gamma delta", "tiny", "beam search", 2, api_name="/summarize"
    )
    assert isinstance(subject, str) and is_png(heatmap)
    assert "beam search (2 beams)" in note


def test_chat_reads_the_last_turns_as_the_dailydialog_loader_builds_them(
    client, tmp_path
):
    first, second = "alpha beta gamma", "delta eta theta"
    history, box, heatmap, _, source = client.predict(
        first, [], "tiny", "greedy", 4, 0.8, 0.9, api_name="/chat"
    )
    assert box == "" and source == first and is_png(heatmap)
    assert [m["role"] for m in history] == ["user", "assistant"]
    reply = text_of(history[1])
    history, _, heatmap, note, source = client.predict(
        second, history, "tiny", "sampling (top-p)", 4, 0.7, 0.9, api_name="/chat"
    )
    assert len(history) == 4 and text_of(history[2]) == second
    assert "top-p sampling (p=0.9, temperature=0.7)" in note
    # The source the loader builds for the reply to `second` (an empty
    # reply is shown as "…" and is no turn).
    turns = [first, *([reply] if reply != "…" else []), second]
    dialogue = tmp_path / "dialogues_test.txt"
    dialogue.write_text(" __eou__ ".join([*turns, "reply"]) + " __eou__\n")
    expected = load_dailydialog(dialogue, history=DIALOGUE_HISTORY).sources[-1]
    assert source == expected
    cleared = client.predict(api_name="/clear_chat")
    assert cleared[0] == [] and cleared[4] == ""


def test_model_lists_and_infos(client):
    models = client.predict(api_name="/list_models")
    assert {"tiny", "baseline"} <= set(models["translation"])
    assert "tiny" in models["summarization"] and "tiny" in models["dialogue"]
    refreshed = client.predict(
        "tiny", "tiny", "tiny", "translation", api_name="/refresh"
    )
    # Dropdowns come back as updates: their choices and value.
    for task, update in zip(models, refreshed[:3], strict=True):
        assert [v for _, v in update["choices"]] == models[task]
        assert update["value"] == "tiny"
    assert all("**tiny**" in info for info in refreshed[3:6])
    assert refreshed[-1] == models
    info = client.predict("baseline", api_name="/translation_model_info")
    assert "no attention (baseline)" in info
    assert "**tiny**" in client.predict("tiny", api_name="/dialogue_model_info")
    assert "**tiny**" in client.predict("tiny", api_name="/summarization_model_info")
    base, sample = client.predict("summarization", api_name="/train_task_changed")
    assert base["value"] == "tiny" and "emails" in sample.lower()
    assert isinstance(client.predict(api_name="/training_status"), str)


def test_an_overlong_input_is_refused_and_the_app_still_answers(client):
    with pytest.raises(AppError, match=f"at most {MAX_INPUT_CHARS} characters"):
        translate(client, text="alpha " * MAX_INPUT_CHARS)
    with pytest.raises(AppError, match="is empty"):
        translate(client, text="   ")
    with pytest.raises(AppError, match=f"at most {MAX_INPUT_CHARS} characters"):
        client.predict(
            "x" * (MAX_INPUT_CHARS + 1), [], "tiny", "greedy", 4, 1, 1, api_name="/chat"
        )
    assert isinstance(translate(client)[0], str)


def test_only_listed_models_are_served(client):
    for name in ("nope", "../translation/tiny", "/etc/passwd"):
        with pytest.raises(AppError, match="no translation model named"):
            translate(client, model=name)
    assert isinstance(translate(client)[0], str)


def test_malformed_uploads_are_refused_with_the_reason(client, demo, tmp_path):
    bad_tsv = tmp_path / "bad.tsv"
    bad_tsv.write_text("one\ttwo\nonly one column\nthree\tfour\n")
    bad_jsonl = tmp_path / "mail.jsonl"
    bad_jsonl.write_text('{"body": "a", "subject": "b"}\nnot json\n')
    program = tmp_path / "model.exe"
    program.write_text("MZ")
    cases = [
        ("translation", bad_tsv, "bad.tsv, line 2: expected 2 tab-separated columns"),
        ("summarization", bad_jsonl, "mail.jsonl, line 2: invalid JSON"),
        ("translation", program, "Invalid file type"),
        ("translation", None, "Upload a data file first"),
    ]
    for task, upload, message in cases:
        with pytest.raises(AppError, match=message):
            train(client, task, upload, "never-made").result()
    assert not (demo.models_dir / "translation" / "never-made").exists()
    # An upload over --max-upload-mb (1 MB) is refused by the server itself.
    response = httpx.post(
        demo.url + "gradio_api/upload",
        files={"files": ("big.tsv", b"a\tb\n" * 300_000)},
        timeout=60,
    )
    assert response.status_code == 413
    assert isinstance(translate(client)[0], str)


def test_new_model_names_are_checked(client, demo):
    cases = [
        ("../escape", "not a valid model name"),
        ("", "not a valid model name"),
        ("a/b", "not a valid model name"),
        ("tiny", "exists already"),
    ]
    for name, message in cases:
        with pytest.raises(AppError, match=message):
            train(client, "translation", None, name, data="shipped sample").result()
    assert not (demo.models_dir / "escape").exists()


def wait_for_status(client, text, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.predict(api_name="/training_status")
        if text in status:
            return status
        time.sleep(0.5)
    raise AssertionError(f"training status never said {text!r}: {status}")


def test_one_run_at_a_time_and_cancel_keeps_nothing_before_an_epoch(client, demo):
    job = train(client, "dialogue", None, "cancelled", 50, data="shipped sample")
    wait_for_status(client, "`cancelled`**: training")
    with pytest.raises(AppError, match="is being trained"):
        train(client, "dialogue", None, "second", data="shipped sample").result()
    client.predict(api_name="/cancel_training")
    final = job.result(timeout=120)[0]
    assert "cancelled" in final
    if "nothing was saved" in final:
        assert not (demo.models_dir / "dialogue" / "cancelled").exists()
    else:  # an epoch finished before the signal came: it is kept
        assert (demo.models_dir / "dialogue" / "cancelled" / "config.json").is_file()


def test_a_model_trained_from_an_upload_appears_and_serves(client, demo, tmp_path):
    sources, targets = reversal_pairs(40, seed=7)
    upload = tmp_path / "pairs.tsv"  # Anki order: target, then source
    pairs = zip(sources, targets, strict=True)
    upload.write_text("".join(f"{t}\t{s}\n" for s, t in pairs))
    markdown, translation_list, *_, base_list = train(
        client, "translation", upload, "from-upload", epochs=1
    ).result(timeout=300)
    assert "done" in markdown and "40 pairs from pairs.tsv" in markdown
    choices = [value for _, value in translation_list["choices"]]
    assert "from-upload" in choices and translation_list["value"] == "from-upload"
    assert "from-upload" in [value for _, value in base_list["choices"]]
    assert "from-upload" in client.predict(api_name="/list_models")["translation"]
    output, heatmap, note = translate(client, sources[0], model="from-upload")
    assert isinstance(output, str) and is_png(heatmap)
    assert "**from-upload**" in note
    options = json.loads(
        (demo.models_dir / "translation/from-upload/training/options.json").read_text()
    )
    assert options["source"] == "1" and options["target"] == "0"
