"""Inferring a dataset from sample files (CSV, JSON array, JSON lines)."""

from __future__ import annotations

import importlib.util
import json
import random
import re
import string
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobtui.engine import Engine
from jobtui.engine.datagen.infer import infer_spec
from jobtui.engine.model.errors import InvalidInput


def kinds(spec: dict) -> dict[str, str]:
    return {f["name"]: f.get("provider") or f["type"] for f in spec["fields"]}


PEOPLE = ["Jane Doe", "John Smith", "Maria Garcia", "Wei Chen", "Anna Schmidt", "Paul Martin"]
CITIES = [
    "Paris",
    "Lyon",
    "Berlin",
    "Madrid",
    "Boston",
    "Denver",
    "Austin",
    "Leeds",
    "Porto",
    "Turin",
    "Ghent",
    "Bern",
    "Oslo",
    "Graz",
    "Cork",
    "Nantes",
    "Lille",
    "Bonn",
    "Ulm",
    "Riga",
]
COMPANIES = [
    f"{name} {suffix}"
    for name in ["Acme", "Globex", "Initech", "Hooli", "Vandelay", "Wonka", "Stark", "Wayne"]
    for suffix in ["Inc", "LLC", "Ltd", "Group", "PLC"]
]


def test_csv_sample(tmp_path: Path) -> None:
    lines = [
        "Customer ID,Full Name,E-mail,Phone,City,Country,Signup Date,Last Login,"
        "Amount,Status,Zip,SKU,Website,IP,Company,Token,Active,Note"
    ]
    for i in range(1, 41):
        lines.append(
            f"{i},{PEOPLE[i % 6]},jane{i}@example.com,+1 555-010-{1000 + i},{CITIES[i % 20]},"
            f"{['France', 'Germany'][i % 2]},"
            f"2024-01-{i % 28 + 1:02d},2024-02-01T10:{i % 60:02d}:00,{i * 3.25:.2f},"
            f"{['new', 'active', 'closed'][i % 3]},{75000 + i},AB-{1000 + i},"
            f"https://example.com/{i},10.0.0.{i},{COMPANIES[i - 1]},"
            f"6f1c2a4e-1b2c-4d5e-8f90-{i:012d},{'true' if i % 4 else 'false'},"
            + ("" if i % 5 == 0 else "something noted here")
        )
    path = tmp_path / "sample.csv"
    path.write_text("\n".join(lines) + "\n")
    spec = infer_spec(path, "people")
    k = kinds(spec)
    assert k["customer_id"] == "sequence"
    assert k["full_name"] == "name"
    assert k["e_mail"] == "email"
    assert k["phone"] == "phone_number"
    # A country column with two values is a weighted choice of them, not faker.country.
    assert k["city"] == "city" and k["country"] == "choice"
    assert k["signup_date"] == "date_range" and k["last_login"] == "datetime_range"
    assert k["amount"] == "float" and k["status"] == "choice"
    assert k["zip"] == "postcode" and k["sku"] == "pattern"
    assert k["website"] == "url" and k["ip"] == "ipv4" and k["company"] == "company"
    assert k["token"] == "uuid" and k["active"] == "boolean"
    note = next(f for f in spec["fields"] if f["name"] == "note")
    assert note["nullable"] == 20.0
    assert spec["fields"][0] == {
        "name": "customer_id",
        "type": "sequence",
        "start": 1,
        "step": 1,
        "unique": True,
    }


def test_json_and_jsonl_samples_with_nesting(tmp_path: Path, engine: Engine) -> None:
    records = [
        {
            "id": f"u{i}",
            "first_name": "Ann",
            "last_name": "Lee",
            "score": i * 1.5,
            "address": {
                "street": f"{i + 1} {['Main', 'Oak', 'Pine'][i % 3]} St",
                "postcode": f"{10001 + 7919 * i}",
            },
            "tags": ["a", "b"][: i % 3],
        }
        for i in range(12)
    ]
    (tmp_path / "s.json").write_text(json.dumps(records))
    (tmp_path / "s.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    for name in ("s.json", "s.jsonl"):
        spec = engine.infer_dataset(tmp_path / name, "people")
        k = kinds(spec)
        assert k["first_name"] == "first_name" and k["last_name"] == "last_name"
        assert k["address"] == "object" and k["tags"] == "list" and k["score"] == "float"
        address = next(f for f in spec["fields"] if f["name"] == "address")
        assert {f["name"]: f.get("provider") for f in address["fields"]} == {
            "street": "street_address",
            "postcode": "postcode",
        }
        # The inferred spec is valid and makes records.
        assert len(engine.sample_dataset(spec, n=3)) == 3


def test_unreadable_samples(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        (tmp_path / "e.csv").write_text("")
        infer_spec(tmp_path / "e.csv", "x")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        (tmp_path / "b.json").write_text("[{")
        infer_spec(tmp_path / "b.json", "x")
    with pytest.raises(InvalidInput):
        infer_spec(tmp_path / "missing.csv", "x")


# -- issue 17: the sample decides, not the column name --------------------------------------------
PERSON_PROVIDERS = {"name", "first_name", "last_name", "name_male", "name_female"}
PLACES = ["Bay", "Cedar", "Pine", "Green", "Lake", "Red", "Mount", "Fair", "Spring", "Oak"]
ENDINGS = ["Springs", "Falls", "Harbor", "Creek", "Rapids", "Hills", "View", "Bluff", "Grove"]
STATES = ["AK", "TX", "CA", "FL", "MS", "OH", "NY", "CO", "WA", "MI", "GA", "AZ"]
CODENAMES = [
    "Warty Warthog",
    "Hoary Hedgehog",
    "Breezy Badger",
    "Dapper Drake",
    "Edgy Eft",
    "Feisty Fawn",
    "Gutsy Gibbon",
    "Hardy Heron",
    "Intrepid Ibex",
    "Jaunty Jackalope",
    "Karmic Koala",
    "Lucid Lynx",
    "Maverick Meerkat",
    "Natty Narwhal",
    "Oneiric Ocelot",
    "Precise Pangolin",
    "Quantal Quetzal",
    "Raring Ringtail",
    "Saucy Salamander",
    "Trusty Tahr",
    "Utopic Unicorn",
    "Vivid Vervet",
]
CARS = [
    "chevrolet chevelle malibu",
    "buick skylark 320",
    "plymouth satellite",
    "amc rebel sst",
    "ford torino",
    "ford galaxie 500",
    "chevrolet impala",
    "pontiac catalina",
    "dodge challenger se",
    "toyota corona mark ii",
    "datsun pl510",
    "volkswagen 1131 deluxe sedan",
]
REAL_PEOPLE = [
    "Maria Garcia",
    "John Smith",
    "Anna Schmidt",
    "Paul Martin",
    "Luis Hernandez",
    "Fatima Khan",
    "Sophie Dubois",
    "Marco Rossi",
    "Emma Johansson",
    "Lucas Silva",
    "Ahmed Hassan",
    "Yuki Tanaka",
    "Priya Sharma",
    "Kim Lee",
    "Wei Chen",
    "Olga Ivanova",
]


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    return path


def airports(tmp_path: Path, n: int = 400) -> Path:
    rng = random.Random(7)
    rows = []
    for i in range(n):
        shape = rng.choices(["LLL", "DDL", "LDD"], [7, 2, 1])[0]
        code = "".join(
            rng.choice(string.ascii_uppercase if c == "L" else string.digits) for c in shape
        )
        suffix = rng.choice(["Municipal", "County", "Regional", "Field", "Airport", ""])
        name = f"{rng.choice(PLACES)} {rng.choice(ENDINGS)} {suffix}".strip()
        city = f"{rng.choice(PLACES)} {rng.choice(ENDINGS)}"
        state = rng.choices(STATES, list(range(12, 0, -1)))[0]
        country = "USA" if i not in (5, 50) else ["Palau", "Thailand"][i == 50]
        lat = round(rng.uniform(7.3, 71.2), 6)
        rows.append([code, name, city, state, country, lat])
    return write_csv(
        tmp_path / "airports.csv", ["iata", "name", "city", "state", "country", "latitude"], rows
    )


def generate(engine: Engine, spec: dict[str, Any], n: int = 1000) -> list[dict[str, Any]]:
    return engine.sample_dataset(spec, n=n, seed=17)


def test_text_columns_follow_the_sample(tmp_path: Path, engine: Engine) -> None:
    spec = engine.infer_dataset(airports(tmp_path), "airports")
    fields = {f["name"]: f for f in spec["fields"]}
    # Codes of several shapes: weighted patterns, not faker.word.
    assert fields["iata"]["type"] == "pattern"
    shapes = {fields["iata"]["pattern"], *fields["iata"]["alternatives"]}
    assert shapes == {"???", "##?", "?##"}
    # Airport names are not person names, whatever the column is called.
    assert fields["name"].get("provider") not in PERSON_PROVIDERS
    assert fields["name"]["type"] == "words"
    # State codes stay codes, the country stays USA-dominated.
    assert fields["state"]["type"] == "choice" and set(fields["state"]["values"]) <= set(STATES)
    assert fields["country"]["type"] == "choice"
    assert fields["country"]["values"][0] == "USA" and fields["country"]["weights"][0] == 398
    # The latitude spans the sample, not the globe.
    assert fields["latitude"]["type"] == "float"
    assert fields["latitude"]["min"] >= 7.3 and fields["latitude"]["max"] <= 71.2
    made = generate(engine, spec)
    assert all(re.fullmatch(r"[A-Z]{3}|\d\d[A-Z]|[A-Z]\d\d", r["iata"]) for r in made), (
        "a code outside the sample's shapes"
    )
    assert sum(r["country"] == "USA" for r in made) >= 980
    assert {r["state"] for r in made} <= set(STATES)
    assert all(7.3 <= r["latitude"] <= 71.2 for r in made)
    vocabulary = {w for f in ("name",) for w in fields[f]["words"]}
    assert all(set(r["name"].split()) <= vocabulary for r in made)


@pytest.mark.parametrize(
    ("values", "person"),
    [(CARS, False), (CODENAMES, False), (REAL_PEOPLE, True)],
    ids=["car models", "release code names", "person names"],
)
def test_person_names_only_for_person_names(
    tmp_path: Path, values: list[str], person: bool
) -> None:
    rows = [[values[i % len(values)], i] for i in range(40)]
    path = write_csv(tmp_path / "s.csv", ["name", "n"], rows)
    spec = infer_spec(path, "s")
    assert (spec["fields"][0].get("provider") in PERSON_PROVIDERS) is person
    # Without a name hint, person names still need to be names.
    path = write_csv(tmp_path / "t.csv", ["driver", "n"], rows)
    spec = infer_spec(path, "t")
    assert (spec["fields"][0].get("provider") in PERSON_PROVIDERS) is person


def test_dates_in_common_formats_keep_their_format(tmp_path: Path, engine: Engine) -> None:
    start = date(2012, 1, 1)
    rows = []
    for i in range(300):
        day = start + timedelta(days=i * 3)
        rows.append(
            [
                day.strftime("%Y/%m/%d"),
                f"{day:%b} {day.day} {day.year}",
                f"{day:%Y/%m/%d} {i % 24:02d}:00",
                ["2001-01-01", "2002-01-01", "2003-01-01"][i % 3],
            ]
        )
    path = write_csv(tmp_path / "d.csv", ["date", "stock_date", "reading", "year"], rows)
    spec = engine.infer_dataset(path, "d")
    fields = {f["name"]: f for f in spec["fields"]}
    assert fields["date"] | {} == {
        "name": "date",
        "type": "date_range",
        "start": "2012-01-01",
        "end": (start + timedelta(days=897)).isoformat(),
        "format": "%Y/%m/%d",
    }
    assert fields["stock_date"]["format"] == "%b %-d %Y"
    assert fields["reading"]["type"] == "datetime_range"
    assert fields["reading"]["format"] == "%Y/%m/%d %H:%M"
    # Three dates repeated: a weighted choice of them.
    assert fields["year"]["type"] == "choice"
    made = generate(engine, spec)
    for r in made:
        assert datetime.strptime(r["date"], "%Y/%m/%d").date() >= start
        assert (
            datetime.strptime(r["stock_date"], "%b %d %Y").strftime("%b %-d %Y") == r["stock_date"]
        )
        datetime.strptime(r["reading"], "%Y/%m/%d %H:%M")


def test_date_columns_ordered_in_every_row_stay_ordered(tmp_path: Path, engine: Engine) -> None:
    rng = random.Random(3)
    rows = []
    for i in range(200):
        created = date(2015, 1, 1) + timedelta(days=rng.randrange(2000))
        released = created + timedelta(days=rng.randrange(1, 300))
        updated = date(2015, 1, 1) + timedelta(days=rng.randrange(2400))
        rows.append([CODENAMES[i % len(CODENAMES)], created, released, updated])
    path = write_csv(tmp_path / "r.csv", ["codename", "created", "released", "updated"], rows)
    spec = engine.infer_dataset(path, "releases")
    fields = {f["name"]: f for f in spec["fields"]}
    assert fields["released"]["after"] == "created"
    assert "after" not in fields["updated"] and "after" not in fields["created"]
    assert fields["codename"].get("provider") not in PERSON_PROVIDERS
    made = generate(engine, spec)
    assert all(r["released"] >= r["created"] for r in made)
    # The guard matters: drawn independently, about half of them would be out of order.
    fields["released"].pop("after")
    fields["released"].pop("gaps")
    loose = generate(engine, spec)
    assert sum(r["released"] < r["created"] for r in loose) > 300


def test_numbers_keep_the_sample_range_and_spread(tmp_path: Path) -> None:
    rng = random.Random(1)
    rows = []
    for i in range(300):
        skewed = round(rng.expovariate(1.0), 3)
        rows.append([i + 1, 1956 + i, skewed, "NA" if i % 30 == 0 else rng.randint(1, 99)])
    path = write_csv(tmp_path / "n.csv", ["id", "year", "dose", "score"], rows)
    fields = {f["name"]: f for f in infer_spec(path, "n")["fields"]}
    assert fields["id"]["type"] == "sequence"
    # Consecutive years are a range from the sample, not a sequence running past it.
    assert fields["year"] == {
        **fields["year"],
        "type": "integer",
        "min": 1956,
        "max": 2255,
    }
    dose = fields["dose"]
    assert dose["type"] == "float" and dose["quantiles"][0] == dose["min"]
    # Half the sample is below the median: the quantiles say so (an even spread would not).
    median = sorted(r[2] for r in rows)[150]
    middle = dose["quantiles"][len(dose["quantiles"]) // 2]
    assert abs(middle - median) < 0.05
    assert fields["score"]["type"] == "integer" and fields["score"]["nullable"] == 3.3


def test_a_big_file_is_sampled_over_its_whole_length(tmp_path: Path) -> None:
    start = datetime(2010, 1, 1)
    rows = [[(start + timedelta(hours=i)).strftime("%Y/%m/%d %H:%M"), i % 50] for i in range(9000)]
    path = write_csv(tmp_path / "big.csv", ["date", "temp"], rows)
    spec = infer_spec(path, "big")
    assert spec["fields"][0]["end"] >= "2011-01-05"
    assert "5000 of 9000 records" in spec["description"]


def test_explain_says_why_and_warns_on_a_metadata_line(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "Exported from Acme CRM on 2024-05-01\nid,city,state\n"
        + "\n".join(f"{i},{PLACES[i % 10]} {ENDINGS[i % 9]},{STATES[i % 3]}" for i in range(1, 60))
    )
    found = engine.infer_dataset(path, "m", explain=True)
    assert [f["name"] for f in found["dataset"]["fields"]] == ["id", "city", "state"]
    (warning,) = found["warnings"]
    assert "first line looks like metadata" in warning and "line 2" in warning
    why = {c["field"]: c for c in found["columns"]}
    assert set(why) == {"id", "city", "state"}
    assert why["state"]["type"] == "choice of 3" and "3 distinct values" in why["state"]["why"]
    assert "faker.city" in why["city"]["why"]
    # Without the metadata line: no warning; a header of numbers: a warning.
    path.write_text("\n".join(path.read_text().splitlines()[1:]))
    assert engine.infer_dataset(path, "m", explain=True)["warnings"] == []
    path.write_text("1,2,3\n4,5,6\n7,8,9\n")
    (warning,) = engine.infer_dataset(path, "m", explain=True)["warnings"]
    assert "header row looks like data" in warning


def test_nested_fields_are_explained_with_their_path(tmp_path: Path) -> None:
    records = [{"id": i, "geo": {"lat": 40 + i / 10, "tag": "x"}} for i in range(10)]
    (tmp_path / "n.json").write_text(json.dumps(records))
    found = infer_spec(tmp_path / "n.json", "n", explain=True)
    columns = [c["column"] for c in found["columns"]]
    assert columns == ["id", "geo.lat", "geo.tag", "geo"]


def vega_files() -> list[Path]:
    spec = importlib.util.find_spec("vega_datasets")
    assert spec is not None and spec.origin, "vega_datasets is a dev dependency"
    folder = Path(spec.origin).parent / "_data"
    return sorted(p for p in folder.iterdir() if p.suffix in (".csv", ".json"))


def test_vega_corpus_person_names_only_where_they_are(engine: Engine) -> None:
    persons = []
    for path in vega_files():
        spec = engine.infer_dataset(path, "v")  # validated
        assert len(engine.sample_dataset(spec, n=20, seed=1)) == 20
        persons += [
            f"{path.stem}.{f['name']}"
            for f in spec["fields"]
            if f.get("provider") in PERSON_PROVIDERS
        ]
    assert persons == ["la-riots.first_name", "la-riots.last_name"]
