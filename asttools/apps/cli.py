"""The ``asttools`` command line: the parser, ``main`` and its exit codes, nothing else.

Each subcommand calls public library functions a notebook could call:
``predict`` → :func:`asttools.embed` and :func:`asttools.run.result.prediction_table`;
``extract`` → :func:`asttools.extract`; ``compact`` → :func:`asttools.store.compact_store`;
``info`` → :func:`asttools.apps.environment.info`; ``demo`` → :func:`asttools.apps.demo.run_demo`;
``fidelity`` → :func:`asttools.run.fidelity.fidelity`.
A new subcommand is one ``add_<name>`` function in :mod:`asttools.apps._parser` that builds
its parser (options, bounds, help) and one ``<name>`` function in
:mod:`asttools.apps._commands` that runs it, listed in ``COMMANDS``; this module turns what
a run returns or raises into the exit code and the error line.

The library is reached through the package root, whose names load on first use: building
the parser (``--help``, ``--version``, ``COMMAND --help``) imports neither torch nor pandas.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import warnings

import asttools

from ..errors import ASTToolsError, ModelLoadError, ParameterError, StoreError
from . import _commands, _parser
from ._commands import Interrupted, Nothing, err

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

#: Everything asked for was done.
EXIT_OK = 0
#: Nothing could be done: the model or the store cannot be opened, no input files found.
EXIT_ERROR = 1
#: A usage error: an unknown option, a bad value (argparse's own code).
EXIT_USAGE = 2
#: Some inputs failed (each is listed, and recorded in the store); the rest were written.
EXIT_SOME_FAILED = 3
#: Interrupted by Ctrl-C or SIGTERM; what was finished is saved (128 + SIGINT).
EXIT_INTERRUPTED = 130

#: Library parameter -> the option that sets it, so that a message the library raises (a
#: layer out of range for the loaded model, say) names what the user typed.
_OPTION_NAMES = {
    "window_s": "--window", "hop_s": "--hop", "batch_size": "--batch-size",
    "flush_items": "--flush-every", "workers": "--workers", "channel": "--channel",
    "layer": "--layer", "pooling": "--pooling", "device": "--device",
    "precision": "--precision", "audio_stream": "--audio-stream",
}  # fmt: skip
# "name=value" for any of them; the bare name only where it cannot be an ordinary word.
_PARAM_RE = re.compile(
    r"\b(?:(" + "|".join(_OPTION_NAMES) + r")=|(" + "|".join(n for n in _OPTION_NAMES if "_" in n)
    + r")\b)"
)


def build_parser() -> argparse.ArgumentParser:
    """The ``asttools`` argument parser, one subparser per entry of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="asttools",
        description="Audio Spectrogram Transformer (AST) from the command line: AudioSet "
                    "labels, and embeddings into a resumable store.",
        epilog=_parser.EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"asttools {asttools.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add, _) in COMMANDS.items():
        add(sub)
        sub.choices[name].set_defaults(command=name)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    err(f"warning: {_as_options(str(message))}")


def _as_options(message: str) -> str:
    """A library message with its parameter names replaced by the options that set them."""
    return _PARAM_RE.sub(
        lambda m: f"{_OPTION_NAMES[m.group(1)]} " if m.group(1) else _OPTION_NAMES[m.group(2)],
        message,
    )


#: Subcommands, in the order --help lists them: name -> (add its parser, run it).
COMMANDS = {
    "demo": (_parser.add_demo, _commands.demo),
    "predict": (_parser.add_predict, _commands.predict),
    "extract": (_parser.add_extract, _commands.extract),
    "timestamps": (_parser.add_timestamps, _commands.timestamps),
    "fidelity": (_parser.add_fidelity, _commands.fidelity),
    "info": (_parser.add_info, _commands.info),
    "compact": (_parser.add_compact, _commands.compact),
    "explore": (_parser.add_explore, _commands.explore),
    "video-features": (_parser.add_video_features, _commands.video_features),
}


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Treat SIGTERM (a scheduler's time limit, `kill`) like Ctrl-C: flush, then exit."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the ``EXIT_*`` constants).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
    """

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (code 2)
        return int(exit_.code or 0)
    run = COMMANDS[args.command][1]
    with warnings.catch_warnings(), _sigterm_as_interrupt():
        warnings.showwarning = _show_warning
        warnings.filterwarnings("ignore", message=r".*RANDOM weights")  # the banner says so
        warnings.filterwarnings("ignore", message=r"\d+ of \d+ inputs failed")  # listed
        # said once already, by _check_windows, as --hop
        warnings.filterwarnings("ignore", message=r"hop_s=.* finer than AST's time resolution")
        try:
            failed = run(args)
        except Interrupted:  # the command said what it kept
            return EXIT_INTERRUPTED
        except KeyboardInterrupt:
            err("interrupted")
            return EXIT_INTERRUPTED
        except ParameterError as error:
            err(f"asttools {args.command}: error: {_as_options(str(error))}")
            return EXIT_USAGE
        except (ModelLoadError, StoreError, Nothing) as error:
            err(f"asttools {args.command}: error: {error}")
            return EXIT_ERROR
        except ASTToolsError as error:
            err(f"asttools {args.command}: error: {error}")
            return EXIT_ERROR
        except OSError as error:  # the file system failed us: say which file, not a traceback
            err(f"asttools {args.command}: error: {error}")
            return EXIT_ERROR
    return EXIT_SOME_FAILED if failed else EXIT_OK
