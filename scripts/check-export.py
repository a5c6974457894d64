#!/usr/bin/env python3
"""An independent check of a tocsin oversight export (a BagIt bag made by
`tocsin records export`): re-verifies every inclusion proof in the bag
against the root of its checkpoint, with RFC 9162 hashing, using nothing
but Python's standard library. It also recomputes each leaf hash from the
leaf where the bag holds it, and the root from the list of every leaf
hash. It does not check signatures (`tocsin records verify-export` does).
Usage: scripts/check-export.py BAG_DIR   (exit 0: all proofs hold; 1: not)
"""
import base64, glob, hashlib, json, os, sys


def leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """RFC 9162 section 2.1.1: the Merkle tree hash of a list of leaf hashes."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node(mth(hashes[:k]), mth(hashes[k:]))


def root_from_proof(h, index, size, proof):
    """RFC 9162 section 2.1.3.2: the root an inclusion proof implies."""
    if index >= size:
        raise ValueError("index beyond the tree")
    fn, sn, r = index, size - 1, h
    for p in proof:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def main(bag):
    data = os.path.join(bag, "data")
    with open(os.path.join(data, "checkpoint.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    size, root = int(lines[1]), base64.b64decode(lines[2])
    entries = []  # (file, position, leaf hash, proof, leaf or None)
    for path in sorted(glob.glob(os.path.join(data, "records", "*.json"))
                       + glob.glob(os.path.join(data, "disposed", "*.json"))):
        with open(path, encoding="utf-8") as f:
            e = json.load(f)
        leaf = base64.b64decode(e["leaf"]) if e.get("leaf") else None
        entries.append((path, e["position"], e["leaf_hash"], e["proof"], leaf))
    with open(os.path.join(data, "withheld.json"), encoding="utf-8") as f:
        for e in json.load(f)["records"]:
            entries.append(("withheld.json", e["position"], e["leaf_hash"], e["proof"], None))
    bad = 0
    for path, pos, h, proof, leaf in entries:
        h = bytes.fromhex(h)
        try:
            if leaf is not None and leaf_hash(leaf) != h:
                raise ValueError("the leaf does not hash to its leaf hash")
            if root_from_proof(h, pos, size, [bytes.fromhex(p) for p in proof]) != root:
                raise ValueError("the proof leads to another root")
        except ValueError as err:
            print(f"FAIL {path}: position {pos}: {err}")
            bad += 1
    with open(os.path.join(data, "ledger-leaves.txt"), encoding="utf-8") as f:
        listed = [bytes.fromhex(l.split(" ")[1]) for l in f.read().splitlines()]
    if len(listed) != size or mth(listed) != root:
        print("FAIL ledger-leaves.txt: the leaf hashes do not make the checkpoint's root")
        bad += 1
    print(f"{len(entries)} inclusion proofs checked against the root of a tree of "
          f"{size} leaves: {'all hold' if not bad else f'{bad} FAILED'}")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
