//! Benchmark driver for `bench/names/run.sh` (not part of the library).
//!
//! ```text
//! match_bench prepare <work-dir> [--queries N] [--negatives N] [--padding N]
//! match_bench run     <work-dir> <registry-size> <out.json> [--sample N --sample-negatives N]
//! match_bench quality <out.json>
//! ```
//!
//! `prepare` parses OFAC + UN from the shared data directory and writes, all
//! deterministically (fixed seeds):
//! * `sanctions.tsv` — `entry_id \t kind \t name` for every primary name and
//!   alias (original-script names are kept out: they are used as queries);
//! * `padding.tsv` — distractor names: held-in half of
//!   `negatives_global.csv`, then synthetic names recombined from it;
//! * `queries.tsv` — `qid \t positive|negative \t perturbation \t
//!   acceptable-entry-ids \t query`: perturbed sanctions names and held-out
//!   negatives.
//!
//! `run` builds the index over the sanctions names padded to the requested
//! size (streamed, the registry is not kept in memory), runs every query
//! and writes metrics as JSON. `quality` scores `name_pairs.csv`.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use tocsin_match::registry::{parse_ofac, parse_un_xml};
use tocsin_match::{
    Alias, AliasQuality, DEFAULT_THRESHOLD, Entry, EntryKind, Index, IndexOptions, Registry,
    SearchOptions, normalise, score_value,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("prepare") => prepare(
            Path::new(&args[1]),
            flag("--queries", 2000),
            flag("--negatives", 1000),
            flag("--padding", 1_000_000),
        ),
        Some("run") => run(
            Path::new(&args[1]),
            args[2].parse()?,
            Path::new(&args[3]),
            flag("--sample", 200),
            flag("--sample-negatives", 100),
        ),
        Some("quality") => quality(Path::new(&args[1])),
        _ => {
            eprintln!("usage: match_bench prepare|run|quality … (see source)");
            std::process::exit(2);
        }
    }
}

fn shared_data() -> PathBuf {
    std::env::var_os("TOCSIN_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

/// splitmix64: tiny, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn load_sanctions() -> Res<Registry> {
    let d = shared_data().join("registry");
    let sdn = BufReader::new(File::open(d.join("ofac_sdn.csv"))?);
    let alt = BufReader::new(File::open(d.join("ofac_alt.csv"))?);
    let mut reg = parse_ofac(sdn, Some(alt), |_| {})?;
    let un = parse_un_xml(
        BufReader::new(File::open(d.join("un_consolidated.xml"))?),
        |_| {},
    )?;
    reg.extend(un);
    Ok(reg)
}

fn key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Order-free key used to recognise the same listed party across lists
/// (OFAC writes `AL ZAHRANI, Faysal Ahmad Bin Ali`, the UN
/// `FAYSAL AHMAD BIN ALI AL-ZAHRANI`): lowercase alphanumeric words, sorted.
fn tkey(s: &str) -> String {
    let lower: String = s
        .to_lowercase()
        .chars()
        .filter(|&c| !matches!(c, '\'' | '’' | '`' | 'ʼ'))
        .collect();
    let mut w: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    w.sort_unstable();
    w.join(" ")
}

// ---------------------------------------------------------------------------
// Perturbations
// ---------------------------------------------------------------------------

const PERTURBATIONS: [&str; 8] = [
    "exact", "typo1", "typo2", "reorder", "drop", "translit", "cyrillic", "original",
];

fn typo(word: &str, rng: &mut Rng) -> String {
    let c: Vec<char> = word.chars().collect();
    if c.len() < 3 {
        return word.to_string();
    }
    let i = 1 + rng.below(c.len() - 1);
    let letters: Vec<char> = "abcdefghiklmnoprstuy".chars().collect();
    let mut out = c.clone();
    let upper = c.iter().all(|ch| !ch.is_lowercase());
    let mut pick = letters[rng.below(letters.len())];
    if upper {
        pick = pick.to_ascii_uppercase();
    }
    match rng.below(4) {
        0 => out[i] = pick,
        1 => {
            out.remove(i);
        }
        2 => out.insert(i, pick),
        _ => {
            if i + 1 < out.len() {
                out.swap(i, i + 1);
            } else {
                out.swap(i - 1, i);
            }
        }
    }
    out.into_iter().collect()
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn long_word_positions(w: &[String]) -> Vec<usize> {
    (0..w.len())
        .filter(|&i| w[i].chars().count() >= 4)
        .collect()
}

const TRANSLIT_RULES: &[(&str, &str)] = &[
    ("MOHAMMED", "MUHAMMAD"),
    ("MOHAMMAD", "MUHAMMED"),
    ("MUHAMMAD", "MOHAMED"),
    ("AHMED", "AHMAD"),
    ("AHMAD", "AHMED"),
    ("HUSSEIN", "HUSAYN"),
    ("HASSAN", "HASAN"),
    ("ABDUL", "ABD AL"),
    ("ABD AL", "ABDUL"),
    ("OU", "U"),
    ("OO", "U"),
    ("EE", "I"),
    ("KH", "H"),
    ("SH", "CH"),
    ("DH", "Z"),
    ("PH", "F"),
    ("Q", "K"),
    ("J", "DJ"),
    ("Y", "I"),
    ("V", "W"),
    ("W", "V"),
    ("I", "Y"),
    ("E", "A"),
];

fn translit_variant(name: &str, rng: &mut Rng) -> Option<String> {
    let up = name.to_uppercase();
    let applicable: Vec<&(&str, &str)> = TRANSLIT_RULES
        .iter()
        .filter(|(a, _)| up.contains(a))
        .collect();
    if applicable.is_empty() {
        return None;
    }
    let (a, b) = applicable[rng.below(applicable.len().min(3))];
    Some(up.replacen(a, b, 1))
}

fn to_cyrillic(name: &str) -> String {
    let lower = name.to_lowercase();
    let b: Vec<char> = lower.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let vowel = |c: char| "aeiouy".contains(c);
    while i < b.len() {
        let rest: String = b[i..b.len().min(i + 4)].iter().collect();
        let (s, n) = if rest.starts_with("shch") {
            ("щ", 4)
        } else if rest.starts_with("sh") {
            ("ш", 2)
        } else if rest.starts_with("ch") {
            ("ч", 2)
        } else if rest.starts_with("zh") {
            ("ж", 2)
        } else if rest.starts_with("kh") {
            ("х", 2)
        } else if rest.starts_with("ts") {
            ("ц", 2)
        } else if rest.starts_with("ya") {
            ("я", 2)
        } else if rest.starts_with("yu") {
            ("ю", 2)
        } else if rest.starts_with("yo") {
            ("ё", 2)
        } else {
            let c = b[i];
            let s = match c {
                'a' => "а",
                'b' => "б",
                'v' | 'w' => "в",
                'g' => "г",
                'd' => "д",
                'e' => "е",
                'z' => "з",
                'i' => "и",
                'y' => {
                    if i > 0 && vowel(b[i - 1]) {
                        "й"
                    } else {
                        "ы"
                    }
                }
                'k' | 'c' | 'q' => "к",
                'l' => "л",
                'm' => "м",
                'n' => "н",
                'o' => "о",
                'p' => "п",
                'r' => "р",
                's' => "с",
                't' => "т",
                'u' => "у",
                'f' => "ф",
                'h' => "х",
                'x' => "кс",
                'j' => "дж",
                _ => {
                    out.push(c);
                    i += 1;
                    continue;
                }
            };
            (s, 1)
        };
        out.push_str(s);
        i += n;
    }
    // Capitalise words.
    out.split(' ')
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map_or(String::new(), |f| {
                f.to_uppercase().collect::<String>() + cs.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn perturb(kind: &str, name: &str, rng: &mut Rng) -> Option<String> {
    let mut w = words(name);
    match kind {
        "exact" => Some(name.to_string()),
        "typo1" => {
            let pos = long_word_positions(&w);
            let &i = pos.get(rng.below(pos.len()))?;
            w[i] = typo(&w[i], rng);
            Some(w.join(" "))
        }
        "typo2" => {
            let pos = long_word_positions(&w);
            if pos.len() < 2 {
                let &i = pos.first()?;
                if w[i].chars().count() < 7 {
                    return None;
                }
                w[i] = typo(&typo(&w[i], rng), rng);
                return Some(w.join(" "));
            }
            let a = pos[rng.below(pos.len())];
            let mut b = pos[rng.below(pos.len())];
            if a == b {
                b = pos[(pos.iter().position(|&p| p == a).unwrap_or(0) + 1) % pos.len()];
            }
            w[a] = typo(&w[a], rng);
            w[b] = typo(&w[b], rng);
            Some(w.join(" "))
        }
        "reorder" => {
            if w.len() < 2 {
                return None;
            }
            if name.contains(',') {
                // "LAST, First" -> "First LAST"
                let (l, f) = name.split_once(',')?;
                return Some(format!("{} {}", f.trim(), l.trim()));
            }
            w.rotate_left(1);
            Some(w.join(" "))
        }
        "drop" => {
            if w.len() < 3 {
                return None;
            }
            let i = 1 + rng.below(w.len() - 2);
            w.remove(i);
            Some(w.join(" "))
        }
        "translit" => translit_variant(name, rng),
        "cyrillic" => {
            let n = if let Some((l, f)) = name.split_once(',') {
                format!("{} {}", f.trim(), l.trim())
            } else {
                name.to_string()
            };
            Some(to_cyrillic(&n))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// prepare
// ---------------------------------------------------------------------------

struct NegRow {
    full: String,
    first: String,
    middle: String,
    last: String,
}

fn script_group(s: &str) -> u32 {
    s.chars()
        .find(|c| c.is_alphabetic())
        .map_or(0, |c| (c as u32) >> 7)
}

const SYLLABLES: &[&str] = &[
    "ka", "ra", "lo", "mi", "nes", "tor", "vel", "an", "ber", "shi", "dan", "go", "lin", "mar",
    "sen", "ti", "ru", "zan", "hol", "pe", "qui", "dor", "fa", "nu", "bri", "ost", "el", "van",
    "jor", "ke", "lia", "mon", "sto", "ich", "ova", "ez",
];
const SECTORS: &[&str] = &[
    "Trading",
    "Holdings",
    "Shipping",
    "Logistics",
    "Industries",
    "Group",
    "Energy",
    "Capital",
    "Partners",
    "Systems",
];
const FORMS: &[&str] = &[
    "LLC", "Ltd", "GmbH", "S.A.", "Inc.", "JSC", "LLP", "B.V.", "Co.", "OOO",
];

fn synthetic_surname(rng: &mut Rng) -> String {
    let n = 2 + rng.below(2);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(SYLLABLES[rng.below(SYLLABLES.len())]);
    }
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

fn prepare(work: &Path, n_queries: usize, n_negatives: usize, n_padding: usize) -> Res<()> {
    fs::create_dir_all(work)?;
    let reg = load_sanctions()?;
    // sanctions.tsv
    let mut names_of: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_tkey: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in reg.entries.iter().enumerate() {
        for n in e.names() {
            by_tkey.entry(tkey(n)).or_default().push(i);
        }
    }
    // Entries listing the same party (a shared name up to word order).
    let same_party = |i: usize| -> Vec<usize> {
        let mut v: Vec<usize> = reg.entries[i]
            .names()
            .flat_map(|n| by_tkey[&tkey(n)].iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut out = BufWriter::new(File::create(work.join("sanctions.tsv"))?);
    let mut n_names = 0;
    for (i, e) in reg.entries.iter().enumerate() {
        for n in std::iter::once(&e.name).chain(e.aliases.iter().map(|a| &a.name)) {
            writeln!(out, "{}\t{}\t{}", e.id, e.kind, clean(n))?;
            names_of.entry(key(n)).or_default().push(i);
            n_names += 1;
        }
    }
    out.flush()?;
    // Negatives: even rows are padding material, odd rows held out.
    let mut rdr = csv::Reader::from_path(shared_data().join("names/negatives_global.csv"))?;
    let mut pool = Vec::new();
    let mut held_out = Vec::new();
    for (i, r) in rdr.records().enumerate() {
        let r = r?;
        let row = NegRow {
            full: r[0].to_string(),
            first: r[1].to_string(),
            middle: r[2].to_string(),
            last: r[3].to_string(),
        };
        if i % 2 == 0 {
            pool.push(row)
        } else {
            held_out.push(row)
        }
    }
    // queries.tsv
    let mut rng = Rng(42);
    let mut order: Vec<usize> = (0..reg.entries.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let with_original: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| !reg.entries[i].original_script.is_empty())
        .collect();
    let mut qout = BufWriter::new(File::create(work.join("queries.tsv"))?);
    let mut qid = 0;
    let mut lines = Vec::new();
    let mut oi = 0;
    let mut k = 0;
    while lines.len() < n_queries && k < order.len() * 2 {
        let kind = PERTURBATIONS[lines.len() % PERTURBATIONS.len()];
        let (idx, source, query) = if kind == "original" {
            let idx = with_original[oi % with_original.len()];
            oi += 1;
            let e = &reg.entries[idx];
            (idx, e.name.clone(), e.original_script[0].clone())
        } else {
            let idx = order[k % order.len()];
            k += 1;
            let e = &reg.entries[idx];
            let source = if !e.aliases.is_empty() && rng.chance(0.3) {
                e.aliases[rng.below(e.aliases.len())].name.clone()
            } else {
                e.name.clone()
            };
            let q = perturb(kind, &source, &mut rng)
                .filter(|q| kind == "exact" || key(q) != key(&source))
                .or_else(|| perturb("typo1", &source, &mut rng))
                .unwrap_or_else(|| source.clone());
            (idx, source, q)
        };
        let mut ok: Vec<&str> = names_of.get(&key(&source)).map_or_else(Vec::new, |v| {
            v.iter().map(|&i| reg.entries[i].id.as_str()).collect()
        });
        ok.extend(
            same_party(idx)
                .into_iter()
                .map(|i| reg.entries[i].id.as_str()),
        );
        ok.sort_unstable();
        ok.dedup();
        lines.push(format!(
            "positive\t{kind}\t{}\t{}",
            ok.join(","),
            clean(&query)
        ));
    }
    let mut neg_order: Vec<usize> = (0..held_out.len()).collect();
    for i in (1..neg_order.len()).rev() {
        neg_order.swap(i, rng.below(i + 1));
    }
    let negs: Vec<String> = neg_order
        .iter()
        .take(n_negatives)
        .map(|&i| format!("negative\tnone\t\t{}", clean(&held_out[i].full)))
        .collect();
    // Interleave so that any prefix sample has both kinds in proportion.
    let ratio = (lines.len() / negs.len().max(1)).max(1);
    let mut ni = 0;
    for (i, l) in lines.iter().enumerate() {
        writeln!(qout, "{qid}\t{l}")?;
        qid += 1;
        if (i + 1) % ratio == 0 && ni < negs.len() {
            writeln!(qout, "{qid}\t{}", negs[ni])?;
            qid += 1;
            ni += 1;
        }
    }
    for n in &negs[ni..] {
        writeln!(qout, "{qid}\t{n}")?;
        qid += 1;
    }
    qout.flush()?;
    // padding.tsv: the pool itself, then recombinations within a script.
    let mut groups: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, r) in pool.iter().enumerate() {
        groups.entry(script_group(&r.first)).or_default().push(i);
    }
    let mut pout = BufWriter::new(File::create(work.join("padding.tsv"))?);
    let mut rng = Rng(7);
    let mut written = 0;
    for r in &pool {
        if written >= n_padding {
            break;
        }
        writeln!(pout, "pad:{written}\tperson\t{}", clean(&r.full))?;
        written += 1;
    }
    while written < n_padding {
        if rng.chance(0.1) {
            let a = &pool[rng.below(pool.len())].last;
            let name = if rng.chance(0.5) {
                format!(
                    "{} {} {}",
                    synthetic_surname(&mut rng),
                    SECTORS[rng.below(SECTORS.len())],
                    FORMS[rng.below(FORMS.len())]
                )
            } else {
                format!(
                    "{a} {} {}",
                    SECTORS[rng.below(SECTORS.len())],
                    FORMS[rng.below(FORMS.len())]
                )
            };
            writeln!(pout, "pad:{written}\tentity\t{}", clean(&name))?;
        } else {
            let r1 = &pool[rng.below(pool.len())];
            let g = &groups[&script_group(&r1.first)];
            let r2 = &pool[g[rng.below(g.len())]];
            let r3 = &pool[g[rng.below(g.len())]];
            let latin = r1.first.is_ascii();
            let last = if latin && rng.chance(0.4) {
                synthetic_surname(&mut rng)
            } else {
                r3.last.clone()
            };
            let name = if !r2.middle.is_empty() && rng.chance(0.3) {
                format!("{} {} {last}", r1.first, r2.middle)
            } else {
                format!("{} {last}", r1.first)
            };
            writeln!(pout, "pad:{written}\tperson\t{}", clean(&name))?;
        }
        written += 1;
    }
    pout.flush()?;
    println!(
        "prepared: {} entries, {n_names} sanctions names, {} queries ({} positive, {} negative), {written} padding names",
        reg.len(),
        qid,
        lines.len(),
        negs.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------

fn read_sanctions(work: &Path) -> Res<Vec<Entry>> {
    let mut out: Vec<Entry> = Vec::new();
    for line in BufReader::new(File::open(work.join("sanctions.tsv"))?).lines() {
        let line = line?;
        let mut p = line.splitn(3, '\t');
        let (id, kind, name) = (
            p.next().unwrap_or(""),
            p.next().unwrap_or(""),
            p.next().unwrap_or(""),
        );
        match out.last_mut() {
            Some(e) if e.id == id => e.aliases.push(Alias {
                name: name.to_string(),
                quality: AliasQuality::Strong,
            }),
            _ => out.push(Entry {
                id: id.to_string(),
                list: if id.starts_with("ofac") {
                    "OFAC SDN".into()
                } else {
                    "UN".into()
                },
                kind: EntryKind::parse(kind).unwrap_or(EntryKind::Entity),
                name: name.to_string(),
                aliases: Vec::new(),
                original_script: Vec::new(),
                country: None,
                program: None,
            }),
        }
    }
    Ok(out)
}

fn proc_status_kb(field: &str) -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

struct Query {
    positive: bool,
    kind: String,
    ok: HashSet<String>,
    text: String,
}

fn run(work: &Path, size: usize, out: &Path, sample: usize, sample_neg: usize) -> Res<()> {
    let sanctions = read_sanctions(work)?;
    let n_sanction_names: usize = sanctions.iter().map(|e| 1 + e.aliases.len()).sum();
    let pad_needed = size.saturating_sub(n_sanction_names);
    let rss_before = proc_status_kb("VmRSS:");
    let pad_file = BufReader::new(File::open(work.join("padding.tsv"))?);
    let padding = pad_file
        .lines()
        .take(pad_needed)
        .map_while(Result::ok)
        .map(|line| {
            let mut p = line.splitn(3, '\t');
            let (id, kind, name) = (
                p.next().unwrap_or(""),
                p.next().unwrap_or(""),
                p.next().unwrap_or(""),
            );
            Entry {
                id: id.to_string(),
                list: "padding".into(),
                kind: EntryKind::parse(kind).unwrap_or(EntryKind::Person),
                name: name.to_string(),
                aliases: Vec::new(),
                original_script: Vec::new(),
                country: None,
                program: None,
            }
        });
    let t0 = Instant::now();
    let ix = Index::build_with(
        sanctions.iter().cloned().chain(padding),
        &IndexOptions::default(),
    );
    let build_secs = t0.elapsed().as_secs_f64();
    drop(sanctions);
    let stats = ix.stats();
    let rss_after_build = proc_status_kb("VmRSS:");
    let hwm_after_build = proc_status_kb("VmHWM:");
    eprintln!(
        "built index: {} names, {} entries, vocab {}, heap ~{} MB, {build_secs:.1}s",
        stats.names,
        stats.entries,
        stats.vocabulary,
        stats.heap_bytes >> 20
    );
    let mut queries = Vec::new();
    for line in BufReader::new(File::open(work.join("queries.tsv"))?).lines() {
        let line = line?;
        let p: Vec<&str> = line.splitn(5, '\t').collect();
        if p.len() < 5 {
            continue;
        }
        queries.push(Query {
            positive: p[1] == "positive",
            kind: p[2].to_string(),
            ok: p[3]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            text: p[4].to_string(),
        });
    }
    let opts = SearchOptions::default();
    // Warm-up (page in the index) on a few queries, not timed.
    for q in queries.iter().take(20) {
        let _ = ix.search(&q.text, &opts);
    }
    // BENCH_MIN_OF=k times each query k times and keeps the fastest: on a
    // shared machine the minimum filters out preemption by other processes
    // (qps counts all k passes).
    let min_of: usize = std::env::var("BENCH_MIN_OF")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut lat = Vec::with_capacity(queries.len());
    let mut results = Vec::with_capacity(queries.len());
    let t_all = Instant::now();
    for q in &queries {
        let mut best = f64::INFINITY;
        let mut hits = Vec::new();
        for _ in 0..min_of {
            let t = Instant::now();
            hits = ix.search(&q.text, &opts);
            best = best.min(t.elapsed().as_secs_f64() * 1e6);
        }
        lat.push(best);
        results.push(hits);
    }
    let total = t_all.elapsed().as_secs_f64();
    // Extra passes for profiling (not measured).
    let repeat: usize = std::env::var("BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for _ in 0..repeat {
        for q in &queries {
            let _ = ix.search(&q.text, &opts);
        }
    }
    // BENCH_HITS=FILE writes every query's hits (entry, matched name,
    // source, score, explanation), so that two builds' answers can be
    // compared byte for byte.
    if let Some(path) = std::env::var_os("BENCH_HITS") {
        let mut w = BufWriter::new(File::create(path)?);
        for (q, hits) in queries.iter().zip(&results) {
            for h in hits {
                writeln!(
                    w,
                    "{}\t{}\t{}\t{:?}\t{:.6}\t{}",
                    q.text, h.entry_id, h.matched_name, h.source, h.score, h.explanation
                )?;
            }
        }
        w.flush()?;
    }
    // BENCH_LAT=FILE writes every query's latency (µs, the fastest of
    // BENCH_MIN_OF) and text, to pick queries around the median for a
    // profile.
    if let Some(path) = std::env::var_os("BENCH_LAT") {
        let mut w = BufWriter::new(File::create(path)?);
        for (q, l) in queries.iter().zip(&lat) {
            writeln!(w, "{l:.1}\t{}", q.text)?;
        }
        w.flush()?;
    }
    if std::env::var_os("BENCH_DUMP").is_some() {
        let mut by_lat: Vec<usize> = (0..queries.len()).collect();
        by_lat.sort_by(|&a, &b| lat[b].total_cmp(&lat[a]));
        for &i in by_lat.iter().take(25) {
            println!(
                "SLOW {:.0} us {:?} ({} hits)",
                lat[i],
                queries[i].text,
                results[i].len()
            );
        }
        for (q, hits) in queries.iter().zip(&results) {
            let top = hits.first();
            let bad = if q.positive {
                !top.is_some_and(|h| q.ok.contains(&h.entry_id))
            } else {
                top.is_some_and(|h| h.score >= DEFAULT_THRESHOLD)
            };
            if bad {
                let want = hits.iter().position(|h| q.ok.contains(&h.entry_id));
                println!(
                    "{} [{}] {:?} -> {:?} {:.3} ({}) want {:?} rank {:?}",
                    if q.positive { "MISS" } else { "FA" },
                    q.kind,
                    q.text,
                    top.map(|h| h.matched_name.as_str()),
                    top.map_or(0.0, |h| h.score),
                    top.map(|h| h.explanation.to_string()).unwrap_or_default(),
                    q.ok,
                    want
                );
            }
        }
    }
    let mut sorted = lat.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    // Metrics over all queries and over the RapidFuzz sample.
    let in_sample: Vec<bool> = {
        let (mut sp, mut sn) = (0, 0);
        queries
            .iter()
            .map(|q| {
                if q.positive && sp < sample {
                    sp += 1;
                    true
                } else if !q.positive && sn < sample_neg {
                    sn += 1;
                    true
                } else {
                    false
                }
            })
            .collect()
    };
    let metrics = |filter: &dyn Fn(usize) -> bool| {
        let (mut pos, mut r1, mut r10, mut neg, mut fa_s, mut fa_any) = (0, 0, 0, 0, 0, 0);
        let mut by_kind: HashMap<String, (u32, u32)> = HashMap::new();
        let mut lats = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            if !filter(i) {
                continue;
            }
            lats.push(lat[i]);
            let hits = &results[i];
            if q.positive {
                pos += 1;
                let top1 = hits.first().is_some_and(|h| q.ok.contains(&h.entry_id));
                let top10 = hits.iter().take(10).any(|h| q.ok.contains(&h.entry_id));
                r1 += usize::from(top1);
                r10 += usize::from(top10);
                let e = by_kind.entry(q.kind.clone()).or_default();
                e.0 += 1;
                e.1 += u32::from(top1);
            } else {
                neg += 1;
                fa_s += usize::from(
                    hits.iter()
                        .any(|h| h.score >= DEFAULT_THRESHOLD && h.list != "padding"),
                );
                fa_any += usize::from(hits.first().is_some_and(|h| h.score >= DEFAULT_THRESHOLD));
            }
        }
        lats.sort_by(f64::total_cmp);
        let kinds: serde_json::Map<String, serde_json::Value> = by_kind
            .into_iter()
            .map(|(k, (n, h))| (k, json!(f64::from(h) / f64::from(n.max(1)))))
            .collect();
        json!({
            "positives": pos, "negatives": neg,
            "recall_at_1": r1 as f64 / pos.max(1) as f64,
            "recall_at_10": r10 as f64 / pos.max(1) as f64,
            "false_alert_sanctions": fa_s as f64 / neg.max(1) as f64,
            "false_alert_any": fa_any as f64 / neg.max(1) as f64,
            "recall_at_1_by_perturbation": kinds,
            "p50_us": if lats.is_empty() { 0.0 } else { pct(&lats, 0.5) },
            "p99_us": if lats.is_empty() { 0.0 } else { pct(&lats, 0.99) },
        })
    };
    let report = json!({
        "system": "tocsin",
        "size_requested": size,
        "names": stats.names,
        "entries": stats.entries,
        "vocabulary": stats.vocabulary,
        "postings": stats.postings,
        "deletion_keys": stats.deletion_keys,
        "index_heap_bytes": stats.heap_bytes,
        "build_secs": build_secs,
        "rss_before_build_kb": rss_before,
        "rss_after_build_kb": rss_after_build,
        "hwm_after_build_kb": hwm_after_build,
        "hwm_kb": proc_status_kb("VmHWM:"),
        "threshold": DEFAULT_THRESHOLD,
        "queries": queries.len(),
        "qps": (queries.len() * min_of) as f64 / total,
        "p50_us": pct(&sorted, 0.5),
        "p99_us": pct(&sorted, 0.99),
        "max_us": sorted.last().copied().unwrap_or(0.0),
        "all": metrics(&|_| true),
        "sample": metrics(&|i| in_sample[i]),
    });
    fs::write(out, serde_json::to_string_pretty(&report)?)?;
    eprintln!(
        "size {size}: qps {:.0}, p50 {:.0} us, p99 {:.0} us, recall@1 {:.3}",
        report["qps"].as_f64().unwrap_or(0.0),
        report["p50_us"].as_f64().unwrap_or(0.0),
        report["p99_us"].as_f64().unwrap_or(0.0),
        report["all"]["recall_at_1"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// quality
// ---------------------------------------------------------------------------

fn quality(out: &Path) -> Res<()> {
    let mut rdr = csv::Reader::from_path(shared_data().join("names/name_pairs.csv"))?;
    let mut rows = Vec::new();
    for r in rdr.records() {
        let r = r?;
        rows.push((r[2].to_string(), r[3].to_string(), &r[4] == "true"));
    }
    let scores: Vec<f32> = rows
        .iter()
        .map(|(a, b, _)| score_value(&normalise(a), &normalise(b)))
        .collect();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (s, r) in scores.iter().zip(&rows) {
        match (*s >= DEFAULT_THRESHOLD, r.2) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
    }
    let p = f64::from(tp) / f64::from((tp + fp).max(1));
    let r = f64::from(tp) / f64::from((tp + fn_).max(1));
    let f1 = 2.0 * p * r / (p + r).max(1e-9);
    // Per-pair time, normalisation included, single thread.
    let reps = 20;
    let t = Instant::now();
    let mut acc = 0f32;
    for _ in 0..reps {
        for (a, b, _) in &rows {
            acc += score_value(&normalise(a), &normalise(b));
        }
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / (reps * rows.len()) as f64;
    let report = json!({
        "system": "tocsin", "pairs": rows.len(), "threshold": DEFAULT_THRESHOLD,
        "precision": p, "recall": r, "f1": f1, "us_per_pair": us, "checksum": acc,
    });
    fs::write(out, serde_json::to_string_pretty(&report)?)?;
    eprintln!("quality: P {p:.3} R {r:.3} F1 {f1:.3} at {DEFAULT_THRESHOLD}, {us:.2} us/pair");
    Ok(())
}
