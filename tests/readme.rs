//! The README and `--help` agree: every flag of `lucent serve` is in the
//! README's table, with its environment variable.

use std::process::Command;

#[test]
fn every_serve_flag_is_in_the_readme() {
    let help = Command::new(env!("CARGO_BIN_EXE_lucent"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let readme = include_str!("../README.md");
    let mut flags = 0;
    for line in help.lines() {
        let Some(flag) = line.trim_start().strip_prefix("--") else {
            continue;
        };
        let flag = flag.split([' ', '=', '<']).next().unwrap();
        if flag == "help" {
            continue; // clap's own
        }
        flags += 1;
        let row = readme
            .lines()
            .find(|row| row.starts_with(&format!("| `--{flag}` |")))
            .unwrap_or_else(|| panic!("--{flag} is not in the README's table"));
        let env = format!("LUCENT_{}", flag.to_uppercase().replace('-', "_"));
        assert!(
            row.contains(&env) || (flag == "witness" && row.contains("LUCENT_WITNESSES")),
            "the README gives --{flag} no {env}: {row}"
        );
    }
    assert!(flags > 15, "{help}");
}
