"""The merchandising commands parse as documented and reject bad input before any I/O."""

import argparse

import pytest

from merch import cli


def parser():
    p = argparse.ArgumentParser(prog="lookalike")
    cli.register(p.add_subparsers(dest="command", required=True))
    return p


def test_commands_parse_to_their_handlers():
    p = parser()
    a = p.parse_args(["clusters", "build", "--k", "12", "--filter", "category=shirt", "--json"])
    assert (a.func, a.k, a.filter, a.json) == (cli.cmd_build, 12, ["category=shirt"], True)
    a = p.parse_args(["propagate", "propose", "--attribute", "pattern", "--value", "hawaiian", "--like", "a", "b",
                      "--unlike", "c", "--threshold", "0.6", "--combine", "mean"])
    assert (a.func, a.like, a.unlike, a.threshold, a.combine) == (cli.cmd_propose, ["a", "b"], ["c"], 0.6, "mean")
    a = p.parse_args(["propagate", "decide", "P1", "--accept", "x", "y", "--reject", "z"])
    assert (a.func, a.accept, a.reject, a.accept_all) == (cli.cmd_decide, ["x", "y"], ["z"], False)
    assert p.parse_args(["propagate", "undo", "B1", "--force"]).func is cli.cmd_undo
    assert p.parse_args(["clusters", "tag", "3", "--attribute", "print", "--value", "tropical"]).cluster == 3
    a = p.parse_args(["gaps", "pattern", "--by", "brand"])
    assert (a.func, a.attribute, a.by) == (cli.cmd_gaps, "pattern", "brand")


@pytest.mark.parametrize("argv", [
    ["propagate", "propose", "--attribute", "pattern", "--value", "x"],  # no --like
    ["propagate", "propose", "--attribute", "pattern", "--value", "x", "--like", "a", "--combine", "sum"],
    ["clusters", "tag", "three", "--attribute", "a", "--value", "b"],
    ["clusters", "build", "--k", "many"],
])
def test_bad_arguments_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as err:
        parser().parse_args(argv)
    assert err.value.code == 2


def test_the_cluster_table_shows_the_largest_and_says_how_to_see_the_rest(capsys):
    from types import SimpleNamespace

    from merch.clusters import ClusterInfo

    clusters = [ClusterInfo(id=i, size=s, medoid=f"p{i}") for i, s in enumerate([3, 40, 7, 40, 1, 12])]
    cli._print_clusters(SimpleNamespace(clusters=clusters), top=3)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["1", "3", "5"]  # by size, ties by id
    assert lines[3] == "  ... and 3 smaller clusters: `lookalike clusters show` lists them all" and len(lines) == 4
    cli._print_clusters(SimpleNamespace(clusters=clusters))
    assert len(capsys.readouterr().out.splitlines()) == 6
    assert parser().parse_args(["clusters", "show", "--top", "5"]).top == 5
