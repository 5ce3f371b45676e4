"""`python -m dashboard.serve run APP ...`: Streamlit's own command line, minus its one lookup
that leaves the machine.

Bound to a wildcard address (`--address 0.0.0.0`), Streamlit asks http(s)://checkip.amazonaws.com
for this machine's external IP (for its "External URL" banner line, and as a fallback when it
checks a browser's origin). No option turns that off, so this entry point replaces the lookup
with "unknown" before Streamlit starts: the banner shows local and network URLs only, and an
origin is checked against the address given, loopback and the internal IP (README, 'No
outside requests')."""

from __future__ import annotations


def no_external_ip() -> None:
    """Streamlit's external-IP detection, answered without asking anyone: unknown."""
    return None


def main() -> None:
    """Run Streamlit's command line (`streamlit run ...`) with external-IP detection off."""
    from streamlit import net_util
    from streamlit.web import cli

    net_util.get_external_ip = no_external_ip
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
