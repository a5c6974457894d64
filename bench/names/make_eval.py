#!/usr/bin/env python3
"""Build the labelled name-pair evaluation set (issue 15) from public data.

    make_eval.py --data SHARED_DATA --out work/eval.csv

Deterministic (no clock, seeded per group). Writes one CSV with columns
split,category,script,group,name1,name2,is_match where split is `train`
or `heldout`. The split is decided by a hash of `group` (a listed entity,
a surname family, a curated person, a synthetic record), so no person or
family is on both sides: 30 % of groups are held out and never used to
tune anything (see README.md, "Evaluation set").

Sources, all public and shippable (the shared data is read, never copied):
  * OFAC SDN legacy CSV + alt.csv (US government, public domain);
  * UN consolidated list XML (public UN data);
  * negatives_global.csv (opensanctions/yente, MIT): synthetic people built
    not to match any listed person;
  * bench/names/data/cjk_names.csv (this repository, Apache-2.0): public
    figures' names in hangul, hanja, kanji, kana and Chinese characters with
    the romanisations used for them in English-language sources.
"""

import argparse
import csv
import hashlib
import random
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELDOUT_PERCENT = 30


def split_of(group):
    h = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16)
    return "heldout" if h % 100 < HELDOUT_PERCENT else "train"


def rng_for(key):
    return random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:12], 16))


def script_of(name):
    persian = set("پچژگکی")
    scripts = set()
    for ch in name:
        if not ch.isalpha():
            continue
        n = unicodedata.name(ch, "")
        if n.startswith("ARABIC"):
            scripts.add("persian" if ch in persian else "arabic")
        elif n.startswith("CYRILLIC"):
            scripts.add("cyrillic")
        elif n.startswith("HANGUL"):
            scripts.add("hangul")
        elif n.startswith("CJK"):
            scripts.add("han")
        elif n.startswith("HIRAGANA") or n.startswith("KATAKANA"):
            scripts.add("kana")
        elif n.startswith("LATIN"):
            scripts.add("latin")
        else:
            scripts.add("other")
    if "persian" in scripts:
        return "persian"
    for s in ("kana", "hangul", "han", "arabic", "cyrillic"):
        if s in scripts:
            return s
    return "latin" if scripts <= {"latin"} else "other"


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------


def ofac_people(data):
    """ent_num -> (primary 'LAST, First', [aka names]) for individuals."""
    people = {}
    with open(data / "registry/ofac_sdn.csv", encoding="utf-8", errors="replace") as f:
        for row in csv.reader(f):
            if len(row) < 4 or row[2].strip().strip('"') != "individual":
                continue
            people[row[0].strip()] = (row[1].strip(), [])
    with open(data / "registry/ofac_alt.csv", encoding="utf-8", errors="replace") as f:
        for row in csv.reader(f):
            if len(row) < 4:
                continue
            ent = row[0].strip()
            if ent in people and row[2].strip() in ("aka", "fka", "nka"):
                people[ent][1].append(row[3].strip())
    return people


def un_people(data):
    """[(dataid, latin name, original-script names, aliases)]."""
    root = ET.parse(data / "registry/un_consolidated.xml").getroot()
    out = []
    for ind in root.iter("INDIVIDUAL"):
        parts = [
            (ind.findtext(t) or "").strip()
            for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
        ]
        latin = " ".join(p for p in parts if p)
        orig = [(e.text or "").strip() for e in ind.iter("NAME_ORIGINAL_SCRIPT")]
        aliases = [
            (a.findtext("ALIAS_NAME") or "").strip()
            for a in ind.iter("INDIVIDUAL_ALIAS")
            if (a.findtext("QUALITY") or "").strip() == "Good"
        ]
        out.append((ind.findtext("DATAID"), latin, [o for o in orig if o], [a for a in aliases if a]))
    return out


def negatives_global(data):
    with open(data / "names/negatives_global.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def display(ofac_name):
    """'LAST, First Middle' -> 'First Middle Last' (the way people write it)."""
    if "," in ofac_name:
        last, first = ofac_name.split(",", 1)
        return f"{first.strip()} {last.strip()}".strip()
    return ofac_name


def words(name):
    return [w for w in re.split(r"[\s,\-]+", name) if w]


# ---------------------------------------------------------------------------
# Synthetic spelling variants (transliteration habits and typos)
# ---------------------------------------------------------------------------

RULES = [
    ("ou", "u"), ("u", "ou"), ("y", "i"), ("i", "y"), ("kh", "h"), ("h", "kh"),
    ("j", "dj"), ("dzh", "j"), ("ee", "i"), ("q", "k"), ("k", "q"), ("ph", "f"),
    ("w", "v"), ("v", "w"), ("sh", "ch"), ("ch", "tch"), ("z", "s"), ("s", "z"),
    ("ei", "ey"), ("ai", "ay"), ("mm", "m"), ("ss", "s"), ("l", "ll"), ("e", "a"),
    ("o", "u"), ("c", "k"), ("x", "ks"), ("ya", "ia"), ("yu", "iu"), ("ie", "ye"),
]


def translit_variant(token, rng):
    low = token.lower()
    options = [(a, b) for a, b in RULES if a in low]
    if not options:
        return typo(token, rng)
    a, b = rng.choice(options)
    idx = [m.start() for m in re.finditer(re.escape(a), low)]
    i = rng.choice(idx)
    out = low[:i] + b + low[i + len(a):]
    return out.capitalize() if token[:1].isupper() else out


def typo(token, rng):
    t = list(token.lower())
    if len(t) < 4:
        return token
    op = rng.choice(["sub", "del", "ins", "swap"])
    i = rng.randrange(1, len(t) - 1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    if op == "sub":
        t[i] = rng.choice(letters)
    elif op == "del":
        del t[i]
    elif op == "ins":
        t.insert(i, rng.choice(letters))
    else:
        t[i], t[i + 1] = t[i + 1], t[i]
    out = "".join(t)
    return out.capitalize() if token[:1].isupper() else out


def perturb(name, rng):
    """One realistic difference: a part spelt another way, a typo, a
    reordering, a dropped middle name, or two spelling differences."""
    ws = words(name)
    kind = rng.choice(["translit", "translit", "typo", "reorder", "drop", "two"])
    long_idx = [i for i, w in enumerate(ws) if len(w) >= 4]
    if kind == "reorder" and len(ws) >= 2:
        return kind, " ".join(ws[-1:] + ws[:-1])
    if kind == "drop" and len(ws) >= 3:
        i = rng.randrange(1, len(ws) - 1)
        return kind, " ".join(ws[:i] + ws[i + 1:])
    if not long_idx:
        return "exact", name
    ws = list(ws)
    if kind == "two":
        for i in rng.sample(long_idx, min(2, len(long_idx))):
            ws[i] = translit_variant(ws[i], rng)
        return kind, " ".join(ws)
    i = rng.choice(long_idx)
    ws[i] = typo(ws[i], rng) if kind == "typo" else translit_variant(ws[i], rng)
    return ("translit" if kind in ("reorder", "drop", "translit") else kind), " ".join(ws)


# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------


def build(data):
    rows = []

    def add(category, script, group, a, b, match):
        if a and b and a != b:
            rows.append((split_of(group), category, script, group, a, b, "true" if match else "false"))

    ofac = ofac_people(data)
    un = un_people(data)
    neg = negatives_global(data)

    # 1. Aliases of one listed person (Latin script), one per person.
    for ent, (primary, akas) in sorted(ofac.items()):
        good = [a for a in akas if script_of(a) == "latin" and len(words(a)) >= 2 and '"' not in a]
        if good:
            alias = rng_for("alias" + ent).choice(good)
            add("alias", "latin", f"ofac:{ent}", display(primary), display(alias), True)

    # 2. Spelling variants and typos of listed names (synthetic, deterministic).
    for ent, (primary, _) in sorted(ofac.items()):
        rng = rng_for("spell" + ent)
        if rng.random() < 0.5:
            kind, v = perturb(display(primary), rng)
            add(f"spelling_{kind}", "latin", f"ofac:{ent}", display(primary), v, True)
    for dataid, latin, _, _ in un:
        rng = rng_for("spell-un" + dataid)
        if latin and rng.random() < 0.5:
            kind, v = perturb(latin.title(), rng)
            add(f"spelling_{kind}", "latin", f"un:{dataid}", latin, v, True)

    # 3. Original-script names on the UN list against their Latin names.
    for dataid, latin, orig, _ in un:
        for o in orig:
            s = script_of(o)
            if s in ("arabic", "persian", "cyrillic") and latin:
                add("cross_script", s, f"un:{dataid}", o, latin, True)

    # 4. Curated CJK names against their romanisations, and negatives:
    #    the same native name against another person's romanisation of the
    #    same group (same surname first: relatives and namesakes).
    with open(HERE / "data/cjk_names.csv", encoding="utf-8") as f:
        cjk = list(csv.DictReader(f))
    by_script = {}
    for r in cjk:
        by_script.setdefault(r["script"], []).append(r)
    for r in cjk:
        add("cross_script", r["script"], f"cjk:{r['person']}", r["native"], r["latin"], True)
    for script, rs in sorted(by_script.items()):
        people = sorted({r["person"] for r in rs})
        for r in rs:
            rng = rng_for("cjkneg" + r["person"] + r["latin"])
            others = [o for o in rs if o["person"] != r["person"]]
            same_sur = [o for o in others if words(o["latin"])[:1] == words(r["latin"])[:1]
                        or words(o["latin"])[-1:] == words(r["latin"])[-1:]]
            picks = rng.sample(others, min(2, len(others)))
            if same_sur:
                picks.append(rng.choice(same_sur))
            for o in picks:
                cat = "relatives" if o in same_sur else "cjk_negative"
                add(cat, script, f"cjk:{r['person']}", r["native"], o["latin"], False)
        _ = people
    # Synthetic CJK people (never listed) against listed romanisations.
    cjk_neg = [n for n in neg if script_of(n["full_name"]) in ("han", "hangul", "kana")]
    latin_by_script = {s: [r["latin"] for r in rs] for s, rs in by_script.items()}
    for i, n in enumerate(cjk_neg[:3000]):
        s = script_of(n["full_name"])
        target = {"hangul": "hangul", "kana": "kana"}.get(s)
        if target is None:
            target = {"Japan": "kanji", "South Korea": "hanja"}.get(n["nationality"], "chinese")
        rng = rng_for(f"cjksyn{i}")
        add("cjk_negative", target, f"neg:{i}", n["full_name"], rng.choice(latin_by_script[target]), False)

    # 5. Relatives: different listed persons sharing a family name (the OFAC
    #    surname field) with different given names. Grouped by family name.
    by_surname = {}
    for ent, (primary, _) in ofac.items():
        if "," not in primary:
            continue
        last, first = (p.strip() for p in primary.split(",", 1))
        if len(last) >= 3 and first:
            by_surname.setdefault(last.upper(), []).append((ent, primary, first))
    for last, ents in sorted(by_surname.items()):
        if len(ents) < 2:
            continue
        rng = rng_for("rel" + last)
        ents = sorted(ents)
        pairs = [(a, b) for i, a in enumerate(ents) for b in ents[i + 1:]
                 if words(a[2].upper())[0] != words(b[2].upper())[0]]
        for a, b in rng.sample(pairs, min(3, len(pairs))):
            add("relatives", "latin", f"rel:{last}", display(a[1]), display(b[1]), False)

    # 6. Common-name negatives among synthetic people: same given name or
    #    same family name, the other part different; plus unrelated pairs,
    #    plus a listed name against a synthetic person sharing one part.
    latin_neg = [n for n in neg if script_of(n["full_name"]) == "latin" and n["first_name"] and n["last_name"]]
    by_first, by_last = {}, {}
    for n in latin_neg:
        by_first.setdefault(n["first_name"].lower(), []).append(n)
        by_last.setdefault(n["last_name"].lower(), []).append(n)
    for key, table in (("first", by_first), ("last", by_last)):
        for k, ns in sorted(table.items()):
            rng = rng_for(f"common{key}{k}")
            if len(ns) < 2:
                continue
            for _ in range(min(2, len(ns) // 2)):
                a, b = rng.sample(ns, 2)
                other = "last_name" if key == "first" else "first_name"
                if a[other].lower() != b[other].lower():
                    add(f"common_{key}", "latin", f"syn:{key}:{k}", a["full_name"], b["full_name"], False)
    rng = rng_for("unrelated")
    for i in range(3000):
        a, b = rng.sample(latin_neg, 2)
        add("unrelated", "latin", f"syn:pair:{i}", a["full_name"], b["full_name"], False)
    listed = [display(p) for p, _ in ofac.values()]
    tok_index = {}
    for n in latin_neg:
        for w in words(n["full_name"].lower()):
            tok_index.setdefault(w, []).append(n["full_name"])
    rng = rng_for("listed-vs-synthetic")
    for i, name in enumerate(sorted(listed)):
        if rng.random() > 0.5:
            continue
        ws = [w for w in words(name.lower()) if len(w) >= 3 and w in tok_index]
        if ws:
            other = rng.choice(tok_index[rng.choice(ws)])
            add("common_shared_part", "latin", f"syn:listed:{i}", other, name, False)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args()
    rows = build(a.data)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["split", "category", "script", "group", "name1", "name2", "is_match"])
        w.writerows(rows)
    from collections import Counter
    c = Counter((r[0], r[6]) for r in rows)
    print(f"{len(rows)} pairs: " + ", ".join(f"{k[0]}/{k[1]}={v}" for k, v in sorted(c.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
