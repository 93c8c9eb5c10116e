"""TensorFlow's start-up chatter is held back; every other line written meanwhile is kept."""

import os
import subprocess
import sys

from indexer.models.tf_import import START_UP_CHATTER, native_stderr_filtered

CHATTER = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796171582.760105   18352 port.cc:153] oneDNN custom operations are on. You may see ...\n",
    "I0000 00:00:1796171582.760433   18352 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.\n",
]


def test_native_lines_matching_the_chatter_are_dropped_and_the_rest_kept(capfd):
    with native_stderr_filtered():
        for line in CHATTER:
            os.write(2, line.encode())
        os.write(2, b"E0000 00:00:1.0   1 op_kernel.cc:1] a real error\n")
        print("a warning from Python", file=sys.stderr)
    err = capfd.readouterr().err  # (pytest's sys.stderr does not write to descriptor 2: order may differ)
    assert sorted(err.splitlines()) == ["E0000 00:00:1.0   1 op_kernel.cc:1] a real error", "a warning from Python"]
    assert all(START_UP_CHATTER.match(line) for line in CHATTER)


def test_what_was_written_survives_an_exception(capfd):
    try:
        with native_stderr_filtered():
            os.write(2, b"why it failed\n")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert capfd.readouterr().err == "why it failed\n"


def test_importing_tensorflow_says_nothing_and_verbose_lets_it_speak():
    code = ("import logging, sys; from indexer.models.tf_import import import_tensorflow\n"
            "if sys.argv[1] == 'verbose': logging.basicConfig(level=logging.DEBUG)\n"
            "import_tensorflow(); import_tensorflow()")
    env = {**os.environ}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    quiet = subprocess.run([sys.executable, "-c", code, "quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout == ""
    verbose = subprocess.run([sys.executable, "-c", code, "verbose"], capture_output=True, text=True, env=env,
                             timeout=300)
    assert verbose.returncode == 0, verbose.stderr
    assert any(START_UP_CHATTER.match(line) for line in verbose.stderr.splitlines())
