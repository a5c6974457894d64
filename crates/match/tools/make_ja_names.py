#!/usr/bin/env python3
"""Extract the Japanese name-reading table of tocsin-match from IPADIC.

Input: the Debian package `mecab-ipadic` (IPADIC 2.7.0, the MeCab IPA
dictionary; its CSVs are EUC-JP), obtained with the ordinary client:

    apt-get download mecab-ipadic
    python3 crates/match/tools/make_ja_names.py mecab-ipadic_*_all.deb \
        > crates/match/data/ja_names.txt

Only `Noun.name.csv` is read, and of it only the person-name entries
written entirely in kanji (品詞 名詞,固有名詞,人名,姓 and 人名,名). Output,
one line each, UTF-8, sorted (deterministic):

    S<kanji>\t<reading>[ <reading>…]   a surname, readings by IPADIC cost
    G<kanji>\t<reading>[ <reading>…]   a given name, likewise
    F<kanji>\t<reading>[ <reading>…]   one character's readings at the
                                        start of a given name
    L<kanji>\t<reading>[ <reading>…]   …and at its end

Readings are in hiragana-free katakana as IPADIC gives them (the first is
the commonest, lowest cost). F and L lines are derived: each two-character
given name is split where its reading divides best between the readings its
characters take in the other entries (an alignment by counting, two
passes); they read given names that are not in the dictionary (安倍晋三's
晋三) character by character. A two-character given name whose readings
the first COMPOSE readings of its characters already give is left out
(about 10,000 of 15,500), which keeps the table small. At most
MAX_READINGS readings per line.

The table is a modified copy of part of IPADIC: crates/match/data/
LICENSE-IPADIC carries the notice its licence requires.
"""
import collections
import io
import subprocess
import sys
import tarfile
import tempfile
import os

MAX_READINGS = 3
MAX_CHAR_READINGS = 4
# Readings per character the reader combines for a two-character given name
# (crates/match/src/japanese.rs, COMPOSE): must agree.
COMPOSE = 2


def is_kanji(s):
    return all(0x3400 <= ord(c) <= 0x9FFF or 0xF900 <= ord(c) <= 0xFAFF or c == '々' for c in s)


def read_names(deb):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(['dpkg-deb', '-x', deb, d], check=True)
        path = os.path.join(d, 'usr/share/mecab/dic/ipadic/Noun.name.csv')
        with open(path, 'rb') as f:
            text = f.read().decode('euc_jp')
    for line in text.splitlines():
        f = line.split(',')
        if len(f) < 12 or f[6] != '人名' or f[7] not in ('姓', '名'):
            continue
        surface, cost, reading = f[0], int(f[3]), f[11]
        if is_kanji(surface) and reading != '*':
            yield ('S' if f[7] == '姓' else 'G'), surface, cost, reading


def main():
    entries = collections.defaultdict(dict)  # (kind, surface) -> reading -> cost
    for kind, surface, cost, reading in read_names(sys.argv[1]):
        d = entries[(kind, surface)]
        d[reading] = min(cost, d.get(reading, cost))
    # Character readings from two-character given names.
    pairs = [(s, r) for (k, s), rs in entries.items() if k == 'G' and len(s) == 2 for r in rs]
    first = collections.defaultdict(collections.Counter)
    last = collections.defaultdict(collections.Counter)
    for s, r in pairs:  # pass 1: every split counts
        for k in range(1, len(r)):
            first[s[0]][r[:k]] += 1
            last[s[1]][r[k:]] += 1
    for _ in range(2):  # pass 2, 3: only the best split of each name counts
        f2 = collections.defaultdict(collections.Counter)
        l2 = collections.defaultdict(collections.Counter)
        for s, r in pairs:
            k = max(range(1, len(r)), key=lambda k: first[s[0]][r[:k]] * last[s[1]][r[k:]], default=None)
            if k is None:
                continue
            f2[s[0]][r[:k]] += 1
            l2[s[1]][r[k:]] += 1
        first, last = f2, l2
    out = []
    chars = {}
    for kind, table in (('F', first), ('L', last)):
        for c, counts in table.items():
            # A reading seen once is as likely an alignment slip as a reading.
            readings = [r for r, n in counts.most_common() if n >= 2][:MAX_CHAR_READINGS]
            if readings:
                chars[kind + c] = readings
                out.append(f"{kind}{c}\t{' '.join(readings)}")
    for (kind, surface), rs in entries.items():
        readings = sorted(rs, key=lambda r: (rs[r], r))[:MAX_READINGS]
        if kind == 'G' and len(surface) == 2:
            # Left out when the reader composes every reading anyway from the
            # first COMPOSE readings of each character (as cjk.rs does).
            composed = {a + b for a in chars.get('F' + surface[0], [])[:COMPOSE]
                        for b in chars.get('L' + surface[1], [])[:COMPOSE]}
            if all(r in composed for r in readings):
                continue
        out.append(f"{kind}{surface}\t{' '.join(readings)}")
    out.sort()
    sys.stdout.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()
