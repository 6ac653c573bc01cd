"""docs/extending.md is the truth: its example (a support-ticket source) applied to a copy of the
repository works end to end.

The blocks of the doc (`path:` = a new file, `patch:` = a diff for `git apply`) are applied to a
copy of the tracked files; a ticket file whose requesters are people of the demo population (and
one stranger, and a few bad rows) lands; the pipeline of the copy runs in a subprocess (the
copy's code, its own dbt target); then the graph, the row accounting, the identity links, the
gate and `cdw explain` are checked. The checkout the test runs from is left as it was.

    python tests/test_extending_example.py --apply DIR    applies the doc's example to DIR
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "extending.md"
PEOPLE = 300
SEED = 23
TICKET_COLUMNS = ["id", "requester_id", "requester_name", "requester_email", "requester_phone", "subject",
                  "status", "priority", "channel", "created_at", "updated_at"]
BLOCK = re.compile(r"^(path|patch): (\S+)\n```[a-z]*\n(.*?)^```$", re.M | re.S)


def doc_blocks(doc: Path = DOC) -> list[tuple[str, str, str]]:
    """(kind, path, text) of every block the doc shows as part of the example, in order."""
    return [(kind, path, text) for kind, path, text in BLOCK.findall(doc.read_text())]


def apply_example(root: Path, doc: Path = DOC) -> list[str]:
    """Write the doc's new files into `root` and apply its patches there; return the paths."""
    touched = []
    for kind, path, text in doc_blocks(doc):
        target = root / path
        if kind == "path":
            assert not target.exists(), f"{path} already exists: the doc's example adds it"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        else:
            proc = subprocess.run(["git", "apply", "--verbose", "-"], cwd=root, input=text, text=True,
                                  capture_output=True)
            assert proc.returncode == 0, f"patch for {path} does not apply:\n{proc.stderr}"
        touched.append(path)
    return touched


def copy_repository(dest: Path) -> None:
    """The tracked (and new, not ignored) files of this checkout, as a git repository of its own."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)  # git apply needs a work tree


# ---- the ticket delivery ---------------------------------------------------------------------

def _people(landing: Path) -> list[dict]:
    """CRM contacts of the demo population with their person, email and phone."""
    with open(landing / "_truth/people.csv", newline="") as f:
        person = {r["source_record_id"]: r["person_id"] for r in csv.DictReader(f) if r["source"] == "crm_contacts"}
    with open(landing / "crm/contacts/contacts.csv", newline="") as f:
        contacts = list(csv.DictReader(f))
    for c in contacts:
        c["person_id"] = person.get(c["hs_object_id"])
    return [c for c in contacts if c["person_id"]]


def _usable_contacts(contacts: list[dict]) -> tuple[list[dict], list[dict]]:
    """Contacts whose email / phone is theirs alone (no role mailbox, no switchboard)."""
    from orchestration.identifiers.phone import to_e164

    def email_ok(e: str) -> bool:
        return bool(re.fullmatch(r"[a-z][a-z0-9._-]*@[a-z0-9.-]+\.[a-z]+", e.strip().lower())) and \
            e.split("@")[0].lower() not in {"info", "sales", "support", "contact", "admin", "office", "hello", "team"}

    by_email: dict[str, set] = {}
    by_phone: dict[str, set] = {}
    for c in contacts:
        c["e164"] = to_e164(c["phone"], "US") if c["phone"] and c["country"] in ("", "US", "USA", "United States") else None
        by_email.setdefault(c["email"].strip().lower(), set()).add(c["person_id"])
        if c["e164"]:
            by_phone.setdefault(c["e164"], set()).add(c["hs_object_id"])
    with_email = [c for c in contacts if c["email"] and email_ok(c["email"]) and len(by_email[c["email"].strip().lower()]) == 1]
    with_phone = [c for c in contacts if c["e164"] and len(by_phone[c["e164"]]) == 1 and c["firstname"] and c["lastname"]]
    return with_email, with_phone


def deliver_tickets(landing: Path) -> dict:
    """landing/support/tickets/tickets.csv: known people by email (one ticket updated twice), one known
    person by phone only, one stranger, filler from other known people, and 3 rows breaking the contract."""
    with_email, with_phone = _usable_contacts(_people(landing))
    by_phone = with_phone[0]
    by_email = next(c for c in with_email if c["person_id"] != by_phone["person_id"])
    filler = [c for c in with_email if c["person_id"] not in (by_phone["person_id"], by_email["person_id"])][:70]
    rows = []

    def ticket(tid, rid, name, email, phone, status="open", created="2026-10-20T09:00:00Z", updated="2026-10-20T09:30:00Z"):
        rows.append({"id": tid, "requester_id": rid, "requester_name": name, "requester_email": email,
                     "requester_phone": phone, "subject": f"Ticket {tid}", "status": status, "priority": "normal",
                     "channel": "email" if email else "voice", "created_at": created, "updated_at": updated})

    # a known person by email (written in upper case), the ticket exported again after an update
    ticket(5001, 9001, f"{by_email['firstname']} {by_email['lastname']}", by_email["email"].upper(), "")
    ticket(5001, 9001, f"{by_email['firstname']} {by_email['lastname']}", by_email["email"], "", status="solved",
           updated="2026-10-21T10:00:00Z")
    # a known person calling in: phone only, formatted the way an agent typed it
    e164 = by_phone["e164"]
    ticket(5002, 9002, f"{by_phone['firstname']} {by_phone['lastname']}", "", f"+1 ({e164[2:5]}) {e164[5:8]}-{e164[8:]}")
    # nobody the warehouse knows
    ticket(5003, 9003, "Quentin Newcomer", "quentin.newcomer@ticket-only.example", "")
    for i, c in enumerate(filler):
        ticket(6000 + i, 9100 + i, f"{c['firstname']} {c['lastname']}", c["email"], "")
    good = len(rows)
    ticket(7001, 9901, "Bad Status", "bad.status@ticket-only.example", "", status="escalated")  # not an allowed status
    ticket(7002, "", "No Requester", "no.requester@ticket-only.example", "")  # requester_id missing
    ticket(7003, 9903, "No Contact", "", "")  # neither email nor phone
    path = landing / "support" / "tickets" / "tickets.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, TICKET_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return {"by_email": by_email, "by_phone": by_phone, "rows": len(rows), "good": good, "bad": len(rows) - good}


# ---- running the copy ------------------------------------------------------------------------

RUN_AND_REPORT = """
import json
from orchestration.runner import run_pipeline
r = run_pipeline(log_level="WARNING")
print("RESULT " + json.dumps({
    "success": r.success,
    "materialized": sorted({e.asset_key.to_user_string() for e in r.get_asset_materialization_events()}),
    "checks": {e.asset_check_key.name: {"passed": e.passed,
               "failed": str(e.metadata.get("failed_expectations").value) if e.metadata.get("failed_expectations") else ""}
               for e in r.get_asset_check_evaluations()},
}))
"""

GRAPH = """
import json
from orchestration.definitions import defs
import orchestration
g = defs.resolve_asset_graph()
node = lambda k: g.get(__import__("dagster").AssetKey.from_user_string(k))
print("RESULT " + json.dumps({
    "code": orchestration.__file__,
    "groups": {k: node(k).group_name for k in ("raw/support_tickets", "staging/stg_support__tickets",
                                               "intermediate/int_identity_records")},
    "records_parents": sorted(p.to_user_string() for p in node("intermediate/int_identity_records").parent_keys),
    "export_parents": sorted(p.to_user_string() for p in node("exports/email_audience").parent_keys),
    "checks": {s.key.asset_key.to_user_string() + ":" + s.name: s.blocking for d in defs.asset_checks for s in d.check_specs},
}))
"""


class Copy:
    def __init__(self, root: Path, home: Path):
        self.root, self.home = root, home
        self.env = {**os.environ, "CDW_HOME": str(home), "PYTHONPATH": str(root), "DAGSTER_HOME": str(home / "dagster")}
        for var in ("CDW_DBT_TARGET_PATH", "CDW_WAREHOUSE", "DAGSTER_IS_DEV_CLI"):
            self.env.pop(var, None)

    def run(self, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        # `python -m` from the copy's root: its code, not the editable install of this checkout
        return subprocess.run([sys.executable, *args], cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def report(self, script: str) -> dict:
        proc = self.run("-c", script)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-5000:]
        return json.loads(lines[-1][len("RESULT "):])

    def sql(self, query: str, params=None):
        import duckdb

        with duckdb.connect(str(self.home / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(query, params or []).fetchall()


def _state_of(repo: Path) -> tuple[str, float | None]:
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    manifest = repo / "dbt_project" / "target" / "manifest.json"
    return status, manifest.stat().st_mtime if manifest.exists() else None


def test_docs_extending_example_adds_a_source_end_to_end(tmp_path):
    from orchestration.demo.generator import generate

    before = _state_of(REPO)
    root, home = tmp_path / "repo", tmp_path / "cdw"
    copy_repository(root)
    touched = apply_example(root)
    assert len(touched) == 5 and len(set(touched)) == 5  # "a handful of files"

    landing = home / "landing"
    generate(landing, people=PEOPLE, seed=SEED)
    tickets = deliver_tickets(landing)
    copy = Copy(root, home)

    # the graph: the new assets in their layers, the suite a blocking check the exports wait for
    # (`cdw prepare` parses the changed dbt project first, as `make ui` does)
    prepared = copy.run("-m", "orchestration.cli", "prepare")
    assert prepared.returncode == 0, prepared.stdout[-3000:] + prepared.stderr[-5000:]
    graph = copy.report(GRAPH)
    assert graph["code"].startswith(str(root))
    assert graph["groups"] == {"raw/support_tickets": "extract", "staging/stg_support__tickets": "staging",
                               "intermediate/int_identity_records": "identity"}
    assert "staging/stg_support__tickets" in graph["records_parents"]
    assert "staging/stg_support__tickets" in graph["export_parents"]
    assert graph["checks"]["staging/stg_support__tickets:gx_stg_support__tickets"] is True
    assert graph["checks"]["raw/support_tickets:gx_raw_support_tickets"] is True

    # the real pipeline of the copy, through its CLI
    first = copy.run("-m", "orchestration.cli", "run", "--log-level", "WARNING")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-5000:]
    assert "PASS  staging/stg_support__tickets:gx_stg_support__tickets" in first.stdout
    assert "PASS  raw/support_tickets:gx_raw_support_tickets" in first.stdout

    # rows in = loaded + quarantined, the bad rows with their reasons
    [(read, loaded, quarantined)] = copy.sql(
        "select rows_read, rows_loaded, rows_quarantined from raw._load_log where source = 'support_tickets'")
    assert (read, loaded, quarantined) == (tickets["rows"], tickets["good"], tickets["bad"])
    reasons = " ".join(r for (r,) in copy.sql("select reason from quarantine.rejected_rows where source = 'support_tickets'"))
    assert "status" in reasons and "requester_id" in reasons and "requester_email" in reasons
    assert copy.sql("select count(*) from staging.stg_support__tickets")[0][0] == tickets["good"] - 1  # 5001 twice
    assert copy.sql("select status from staging.stg_support__tickets where ticket_id = 5001")[0][0] == "solved"

    # identity: the requesters land on the people the warehouse knows, by email and by phone
    def customer(record_key: str) -> str:
        rows = copy.sql("select customer_id from marts.customer_source_records where record_key = ?", [record_key])
        assert rows, f"{record_key} not in marts.customer_source_records"
        return rows[0][0]

    assert customer("support_requesters:9001") == customer(f"crm_contacts:{tickets['by_email']['hs_object_id']}")
    assert customer("support_requesters:9002") == customer(f"crm_contacts:{tickets['by_phone']['hs_object_id']}")
    stranger = customer("support_requesters:9003")
    assert copy.sql("select count(*) from marts.customer_source_records where customer_id = ?", [stranger])[0][0] == 1
    assert copy.sql("select count(*) from marts.customers where customer_id = ?", [stranger])[0][0] == 1
    linked = copy.sql("""select count(*) from staging.stg_support__tickets t
                         join marts.customer_source_records r on r.record_key = 'support_requesters:' || t.requester_id""")
    assert linked[0][0] == tickets["good"] - 1  # every loaded ticket has a customer

    # cdw explain shows the ticket requester among the person's records
    explained = copy.run("-m", "orchestration.cli", "explain", tickets["by_email"]["email"])
    assert explained.returncode == 0, explained.stderr
    assert "support_requesters:9001" in explained.stdout
    assert f"crm_contacts:{tickets['by_email']['hs_object_id']}" in explained.stdout

    # erasure covers the new source through its declared identifiers
    covered = copy.report("from orchestration.governance.erasure import RAW_IDENTIFIERS as R; import json; "
                          "print('RESULT ' + json.dumps(R.get('support_tickets')))")
    assert covered == {"email": ["requester_email"], "phone": ["requester_phone"]}

    # a ticket updated before it was opened passes the contract but not the suite: the exports wait
    manifest = home / "exports" / "email_audience" / "email_audience.manifest.json"
    good_manifest = manifest.read_text()
    with (landing / "support" / "tickets" / "tickets_late.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, TICKET_COLUMNS)
        w.writeheader()
        w.writerow({"id": 5100, "requester_id": 9001, "requester_email": tickets["by_email"]["email"],
                    "status": "open", "created_at": "2026-10-25T10:00:00Z", "updated_at": "2026-10-24T10:00:00Z"})
    bad = copy.report(RUN_AND_REPORT)
    assert not bad["success"]
    assert bad["checks"]["gx_stg_support__tickets"]["passed"] is False
    assert "updated_before_created" in bad["checks"]["gx_stg_support__tickets"]["failed"]
    assert "staging/stg_support__tickets" in bad["materialized"]
    assert not any(k.startswith(("exports/", "governance/analyst_snapshot")) for k in bad["materialized"])
    assert manifest.read_text() == good_manifest

    assert _state_of(REPO) == before  # the checkout the test runs from is untouched


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--apply":
        print("\n".join(apply_example(Path(sys.argv[2]).resolve())))
    else:
        print(__doc__)
        raise SystemExit(2)
