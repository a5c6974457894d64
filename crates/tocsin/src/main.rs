//! The `tocsin` binary: everything is in the library (`tocsin::cli`).

fn main() -> std::process::ExitCode {
    tocsin::cli::main()
}
