#!/usr/bin/env python3
"""Writes __test__/fixtures/id-vectors.json: ids of both grammars with the verdicts expected of
lib/id.js and src/id/mod.rs, computed here independently of both.

The deployed grammar's check pair is done the plain way, with Python's integers: the fields
without dashes become one decimal number n (a digit stays a digit, a letter becomes its value
A=10 ... Z=35, written as two digits), and the pair is (98 - n mod 97) mod 97, two digits. That
is what the service computes (its running mod-97 over the same digits is n mod 97).

Regenerate (deterministic; commit the output):
    python3 scripts/id-vectors.py > __test__/fixtures/id-vectors.json
"""

import json
import random
import string

UPPER = string.ascii_uppercase
DIGITS = string.digits
DEPLOYED_TYPES = "PLTEA"


def check_pair(base):
    n = int("".join(str(int(c, 36)) for c in base))
    return "%02d" % ((98 - n % 97) % 97)


def deployed(vv, g, lll, ssss, t, yymm, c, pair=None):
    base = vv + g + lll + ssss + t + yymm + c
    return "-".join([vv, g, lll, ssss, t, yymm, c, pair if pair is not None else check_pair(base)])


def random_deployed(r, g=None, lll=None, ssss=None, t=None):
    return deployed(
        "".join(r.choice(DIGITS) for _ in range(2)),
        g if g is not None else r.choice("123456789"),
        lll if lll is not None else "".join(r.choice(UPPER) for _ in range(3)),
        ssss if ssss is not None else "".join(r.choice(DIGITS) for _ in range(4)),
        t if t is not None else r.choice(DEPLOYED_TYPES),
        "".join(r.choice(DIGITS) for _ in range(4)),
        r.choice("012345"),
    )


def random_v1(r):
    u = lambda n: "".join(r.choice(UPPER) for _ in range(n))
    d = lambda n: "".join(r.choice(DIGITS) for _ in range(n))
    return "-".join([u(2), u(1), u(3), d(4), u(1), d(2), u(1), r.choice(UPPER + DIGITS)])


def fields_of(id_):
    return id_.split("-")


vectors = []


def add(id_, grammar, note, placeholder=False, placeholder_error=None):
    v = {"id": id_, "grammar": grammar, "placeholder": placeholder, "note": note}
    if placeholder:
        v["placeholderError"] = placeholder_error
    if grammar is not None:
        v["fields"] = fields_of(id_)
    vectors.append(v)


def with_pair(id_, pair):
    return id_[:-2] + pair


r = random.Random(22)

# v1's grammar, unchanged.
for id_ in ["CT-A-CHI-1234-I-24-A-0", "ID-Z-ZZZ-0000-P-99-Z-Z", "AB-C-DEF-9876-E-01-Q-9"]:
    add(id_, "v1", "v1 example")
for _ in range(40):
    add(random_v1(r), "v1", "v1 random")

# The deployed grammar: random valid ids, every type letter and trust level, the service's own
# example placeholder shape with real fields.
for _ in range(120):
    add(random_deployed(r), "deployed", "deployed random")
for t in DEPLOYED_TYPES:
    for c in "012345":
        id_ = deployed("03", "1", "USA", "1234", t, "2612", c)
        add(id_, "deployed", "every type letter and trust level")
# Year and month are not range-checked by the service.
for yymm in ["0000", "9999", "2613", "2600"]:
    add(deployed("03", "9", "ZZZ", "9999", "A", yymm, "5"), "deployed", "YYMM is any 4 digits")

# Check pairs at the ends of their range (00 and 96 both occur; 97-99 never do).
found = {}
while len(found) < 4:
    id_ = random_deployed(r)
    pair = id_[-2:]
    if pair in ("00", "01", "95", "96") and pair not in found:
        found[pair] = id_
for pair, id_ in sorted(found.items()):
    add(id_, "deployed", "check pair " + pair)
    for wrong in ["97", "98", "99"]:
        add(with_pair(id_, wrong), None, "check pair out of range")

# Wrong check pairs: each valid deployed id with its pair off by one, swapped, and changed
# in a single field (the pair of the original kept).
for _ in range(40):
    id_ = random_deployed(r)
    pair = int(id_[-2:])
    add(with_pair(id_, "%02d" % ((pair + 1) % 100)), None, "check pair off by one")
    if id_[-2] != id_[-1]:
        add(with_pair(id_, id_[-1] + id_[-2]), None, "check pair digits swapped")
    f = fields_of(id_)
    f[3] = "%04d" % ((int(f[3]) + 1) % 10000)
    changed = "-".join(f)
    # A changed field may, once in 97 times, still fit the pair; keep only real misfits.
    if check_pair("".join(f[:7])) != f[7]:
        add(changed, None, "sequence changed, old check pair")
    f = fields_of(id_)
    f[2] = f[2][0] + f[2][2] + f[2][1]
    if f[2] != fields_of(id_)[2] and check_pair("".join(f[:7])) != f[7]:
        add("-".join(f), None, "jurisdiction letters swapped, old check pair")

# Placeholders: G = 0, LLL = ERR, SSSS 0000-0099, with the service's error numbers; their check
# pairs are right (the service computes them the same way) but G = 0 is not in the grammar.
ERRORS = {"MINT_UNAVAILABLE": 1, "MINT_TIMEOUT": 2, "MINT_REJECTED": 3, "DRAND_UNAVAILABLE": 4,
          "CERT_UNAVAILABLE": 5, "TRUST_UNAVAILABLE": 6, "RATE_LIMITED": 7, "INVALID_REQUEST": 8,
          "INTERNAL_ERROR": 99}
for name, number in ERRORS.items():
    for t in "PT":
        id_ = deployed("03", "0", "ERR", "%04d" % number, t, "2612", "0")
        add(id_, None, "placeholder " + name, True, number)
add(deployed("03", "0", "ERR", "0000", "E", "2701", "3"), None, "placeholder 0000", True, 0)
add(with_pair(deployed("03", "0", "ERR", "0001", "T", "2612", "0"), "00"), None,
    "placeholder with a wrong check pair is still a placeholder", True, 1)
# Not placeholders: the reserved space is exactly G = 0, ERR, 0000-0099.
add(deployed("03", "0", "ERR", "0100", "T", "2612", "0"), None, "G=0 ERR but sequence 0100")
add(deployed("03", "0", "ERA", "0001", "T", "2612", "0"), None, "G=0 but not ERR")
add(deployed("03", "1", "ERR", "0001", "T", "2612", "0"), "deployed", "ERR jurisdiction with G=1 is a real id")
add(deployed("03", "0", "ERR", "0001", "X", "2612", "0"), None, "G=0 ERR with a type letter outside PLTEA")
add(deployed("03", "0", "ERR", "0001", "T", "2612", "6"), None, "G=0 ERR with trust 6")
add(deployed("03", "0", "USA", "1234", "P", "2612", "2"), None, "G=0 outside ERR")

# Grammar edges.
base = ["03", "1", "USA", "1234", "P", "2612", "2"]
add(deployed(*base), "deployed", "edge base")
for i, bad in [(0, "0A"), (0, "003"), (1, "A"), (1, "10"), (2, "US1"), (2, "usa"), (2, "USAA"),
               (3, "123"), (3, "12345"), (3, "12A4"), (4, "I"), (4, "p"), (4, "PP"), (5, "261"),
               (5, "26123"), (6, "6"), (6, "9"), (6, "A")]:
    f = list(base)
    f[i] = bad
    add(deployed(*f), None, "field %d is %s" % (i, bad))
good = deployed(*base)
for variant in [good.lower(), good + "\n", " " + good, good + " ", good.replace("-", "_"),
                good.replace("-", ""), good[:-1], good + "0", good.replace("-", "\u2010", 1),
                good.replace("1", "\uff11", 1), "", "-" * 24, good + "-" + good]:
    add(variant, None, "distorted")
# The deployed id's pair is digits: a v1 id's last fields never make it deployed, and neither
# grammar accepts the other's shape.
add("CT-A-CHI-1234-I-24-A-0".replace("-24-", "-2412-"), None, "v1 with a 4-digit year")
add("01-A-CHI-1234-I-2409-5-0", None, "mixed shape")
add("CHITTY-PEO-123456-ABC", None, "legacy id")

print(json.dumps({
    "comment": "Generated by scripts/id-vectors.py (python3 scripts/id-vectors.py > __test__/fixtures/id-vectors.json). "
               "grammar: the grammar the id is well-formed in (null: neither); placeholder: in the deployed "
               "service's reserved error space; fields: the id split at its dashes.",
    "vectors": vectors,
}, indent=1, ensure_ascii=False))
