//! `vmq-passwd`: creates and edits VerneMQ password files, with the options of VerneMQ's tool
//! (`apps/vmq_passwd/c_src/vmq_passwd.c`) and its documentation (configuration/file-auth.md):
//!
//! ```text
//! vmq-passwd [-c | -cf | -D] passwordfile username
//! vmq-passwd -U passwordfile
//! ```
//!
//! The password is prompted for twice without echo when standard input is a terminal. When
//! it is not (scripts), the first line of standard input is the password; a second line, when
//! present, must repeat it (so `printf 'pw\npw\n' | vmq-passwd ...`, which works with the C
//! tool, works here too). Entries are written in VerneMQ's `$6$` format unless `--argon2` asks
//! for argon2id (which VerneMQ itself cannot read). Files are rewritten through a temporary
//! file next to them and a rename, keeping the original's permissions. Passwords are never
//! printed.

use std::{
    fs,
    io::{self, BufRead, IsTerminal},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use vmq_auth::passwd::{
    convert_plaintext, delete_user, format_line, set_user, validate_password, validate_username,
    PasswordHash,
};

/// vmq-passwd is a tool for managing password files for VerneMQ.
#[derive(Debug, Parser)]
#[command(
    name = "vmq-passwd",
    version,
    override_usage = "vmq-passwd [-c | -cf | -D] passwordfile username\n       vmq-passwd -U passwordfile"
)]
struct Args {
    /// Create a new password file; fails if it exists unless -f is given too (-cf).
    #[arg(short = 'c', conflicts_with_all = ["delete", "update"])]
    create: bool,
    /// With -c: overwrite an existing file.
    #[arg(short = 'f', requires = "create")]
    force: bool,
    /// Delete the user rather than adding or updating its password.
    #[arg(short = 'D', conflicts_with = "update")]
    delete: bool,
    /// Convert a plain-text `user:password` file to hashed passwords (in place).
    #[arg(short = 'U')]
    update: bool,
    /// Hash new passwords with argon2id instead of VerneMQ's SHA-512 (extension: VerneMQ
    /// itself cannot read such entries).
    #[arg(long)]
    argon2: bool,
    /// The password file.
    passwordfile: PathBuf,
    /// The user to add, update or delete.
    username: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let file = &args.passwordfile;
    if args.update {
        if args.username.is_some() {
            bail!("-U takes only the password file");
        }
        return convert(args, file);
    }
    let Some(user) = args.username.as_deref() else {
        bail!("a user name is required (vmq-passwd [-c | -cf | -D] passwordfile username)");
    };
    validate_username(user)?;
    if args.create {
        if file.exists() {
            if !args.force {
                bail!(
                    "File {} already exists. Please use -cf in case you want to overwrite the file",
                    file.display()
                );
            }
            println!("File already exists. PLEASE ABORT OPERATION IF YOU DO NOT INTENT TO OVERWRITE THE ALREADY EXISTING FILE!");
        }
        let password = read_password()?;
        let line = format_line(user, &hash(args, &password)?)?;
        return write_file(file, &format!("{line}\n"));
    }
    let text = read_file(file)?;
    if args.delete {
        let (out, found) = delete_user(&text, user);
        if !found {
            eprintln!("Warning: User {user} not found in password file.");
            return Ok(());
        }
        return write_file(file, &out);
    }
    let password = read_password()?;
    let line = format_line(user, &hash(args, &password)?)?;
    write_file(file, &set_user(&text, user, &line))
}

fn convert(args: &Args, file: &Path) -> Result<()> {
    let text = read_file(file)?;
    let (out, notes) = convert_plaintext(&text, |p| {
        if args.argon2 {
            PasswordHash::argon2id(p)
        } else {
            Ok(PasswordHash::sha512(p))
        }
    })?;
    for note in notes {
        eprintln!("Warning: {note}");
    }
    write_file(file, &out)
}

fn hash(args: &Args, password: &[u8]) -> Result<PasswordHash> {
    Ok(if args.argon2 {
        PasswordHash::argon2id(password)?
    } else {
        PasswordHash::sha512(password)
    })
}

fn read_file(file: &Path) -> Result<String> {
    fs::read_to_string(file)
        .with_context(|| format!("Unable to open password file {}", file.display()))
}

/// Prompts twice on a terminal; otherwise reads one line (and checks a second if present).
fn read_password() -> Result<Vec<u8>> {
    let (first, second) = if io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        let second =
            rpassword::prompt_password("Reenter password: ").context("reading the password")?;
        (first, Some(second))
    } else {
        let mut lines = io::stdin().lock().lines();
        let first = lines
            .next()
            .transpose()
            .context("reading the password from standard input")?
            .unwrap_or_default();
        let second = lines
            .next()
            .transpose()
            .context("reading the password from standard input")?;
        (first, second)
    };
    let first = first.trim_end_matches('\r').to_owned();
    if first.is_empty() {
        bail!("Empty password.");
    }
    if let Some(second) = second {
        if second.trim_end_matches('\r') != first {
            bail!("Passwords do not match.");
        }
    }
    validate_password(first.as_bytes())?;
    Ok(first.into_bytes())
}

/// Writes `text` to `<file>.tmp` and renames it over `file`, keeping `file`'s permissions.
fn write_file(file: &Path, text: &str) -> Result<()> {
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, text).with_context(|| format!("Unable to write {}", tmp.display()))?;
    if let Ok(meta) = fs::metadata(file) {
        fs::set_permissions(&tmp, meta.permissions())
            .with_context(|| format!("Unable to set the permissions of {}", tmp.display()))?;
    }
    fs::rename(&tmp, file).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        anyhow!("Unable to replace {}: {e}", file.display())
    })
}
