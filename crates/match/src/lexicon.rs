//! Small word lists used by the scorer.

use std::sync::LazyLock;

use rustc_hash::FxHashSet;

/// Common given-name short forms: (short, full). Looked up both ways.
const NICKNAMES: &[(&str, &str)] = &[
    ("ben", "benjamin"),
    ("benny", "benjamin"),
    ("bill", "william"),
    ("billy", "william"),
    ("will", "william"),
    ("willy", "william"),
    ("bob", "robert"),
    ("bobby", "robert"),
    ("rob", "robert"),
    ("robbie", "robert"),
    ("dick", "richard"),
    ("rick", "richard"),
    ("rich", "richard"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("mike", "michael"),
    ("mick", "michael"),
    ("tom", "thomas"),
    ("tommy", "thomas"),
    ("ted", "theodore"),
    ("ted", "edward"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("ned", "edward"),
    ("tony", "anthony"),
    ("andy", "andrew"),
    ("alex", "alexander"),
    ("alex", "aleksandr"),
    ("sasha", "alexander"),
    ("sasha", "aleksandr"),
    ("nick", "nicholas"),
    ("joe", "joseph"),
    ("jack", "john"),
    ("johnny", "john"),
    ("dan", "daniel"),
    ("danny", "daniel"),
    ("dave", "david"),
    ("steve", "stephen"),
    ("steve", "steven"),
    ("chris", "christopher"),
    ("matt", "matthew"),
    ("pat", "patrick"),
    ("peggy", "margaret"),
    ("maggie", "margaret"),
    ("liz", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("kate", "katherine"),
    ("kathy", "katherine"),
    ("jenny", "jennifer"),
    ("sam", "samuel"),
    ("sue", "susan"),
    ("fred", "frederick"),
    ("greg", "gregory"),
    ("jeff", "jeffrey"),
    ("larry", "lawrence"),
    ("harry", "henry"),
    ("hank", "henry"),
    ("chuck", "charles"),
    ("charlie", "charles"),
    ("frank", "francis"),
    ("ray", "raymond"),
    ("ron", "ronald"),
    ("don", "donald"),
    ("walt", "walter"),
    ("vova", "vladimir"),
    ("volodya", "vladimir"),
    ("kolya", "nikolai"),
    ("misha", "mikhail"),
    ("dima", "dmitry"),
    ("pasha", "pavel"),
    ("zhenya", "evgeny"),
    ("zhenya", "yevgeny"),
    ("lyosha", "alexei"),
    ("seryozha", "sergey"),
];

static NICKNAME_SET: LazyLock<FxHashSet<(&'static str, &'static str)>> = LazyLock::new(|| {
    NICKNAMES
        .iter()
        .flat_map(|&(a, b)| [(a, b), (b, a)])
        .collect()
});

/// Whether one token is a known short form of the other.
pub(crate) fn is_nickname(a: &str, b: &str) -> bool {
    a.len().min(b.len()) <= 8 && NICKNAME_SET.contains(&(a, b))
}
