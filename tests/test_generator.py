"""The demo generator: deterministic, messy in the promised ways, with a separate ground truth."""

import hashlib

import pandas as pd

from demo.generate import Config, generate


def _digest(folder):
    """Every file's hash, but meta.json (it holds the run time) and xlsx (a zip with its write time),
    whose cell values are compared instead."""
    digest = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "meta.json"):
        key = str(path.relative_to(folder))
        if path.suffix == ".xlsx":
            digest[key] = {name: frame.to_csv() for name, frame in pd.read_excel(path, sheet_name=None, header=None).items()}
        else:
            digest[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def test_same_seed_same_data_in_one_process_or_several(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(Config(customers=800, seed=3), a, workers=1)
    generate(Config(customers=800, seed=3), b, workers=2)  # builders in forked processes
    digest = _digest(a)
    assert len(digest) >= 30 and digest == _digest(b)


def test_data_is_messy_the_documented_ways(demo_data):
    crm = pd.read_parquet(demo_data / "retailcrm" / "customers.parquet")
    phones = crm["phone1"].dropna()
    assert phones.str.startswith("8 (").any() and phones.str.startswith("+7 ").any()
    assert phones.str.fullmatch(r"9\d{9}").any() and phones.str.fullmatch(r"7\d{10}").any()
    assert (phones == "8 (495) 150-00-00").sum() >= 2, "a switchboard phone shared by many records"
    assert crm["email"].str.contains(r"[A-Z]").any() and crm["email"].str.startswith(" ").any()
    assert (crm["lastName"] == "").any(), "some names are glued into firstName"
    orders = pd.read_parquet(demo_data / "retailcrm" / "orders.parquet")
    assert {"complete", "cancel-other", "return"} <= set(orders["status"])


def test_ground_truth_knows_cross_source_people_and_revocations(demo_data):
    truth = pd.read_csv(demo_data / "ground_truth" / "identity.csv", dtype=str)
    per_person = truth.groupby("person_id")["source_system"].nunique()
    assert (per_person >= 3).any(), "someone is in CRM, spreadsheet and mailing tool at once"
    revoked = pd.read_csv(demo_data / "ground_truth" / "email_revoked.csv")
    contacts = pd.read_parquet(demo_data / "unisender" / "contacts.parquet")
    from_unisender = revoked[revoked["revoked_in"] == "unisender"]
    assert len(from_unisender) == (contacts["email_status"] == "unsubscribed").sum() > 0


def test_spreadsheet_is_cp1251_with_broken_lines(demo_data):
    raw = (demo_data / "inbox" / "loyalty_members.csv").read_bytes()
    assert raw.splitlines()[0].decode("cp1251").startswith("Номер карты;ФИО")
    assert b"\x98" in raw or raw.count(b"\r\n;") >= 1


def test_million_scale_is_vectorised(tmp_path):
    """Not a timing test: checks the scale knob works above the demo size; `make bench` times 1 M."""
    meta = generate(Config(customers=20_000, seed=1), tmp_path)
    assert meta["rows"]["retailcrm.customers"] > 14_000
