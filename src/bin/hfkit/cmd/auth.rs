//! `hfkit whoami`, `hfkit login`, `hfkit logout`.

use hfkit::auth::{remove_token, store_token};
use hfkit::{Error, Result, Settings, Token};

/// `hfkit whoami`
#[derive(clap::Args, Debug)]
pub struct WhoamiArgs {
    /// Access token (default: HF_TOKEN, then the stored token).
    #[arg(long)]
    pub token: Option<String>,
    /// Print the whole answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hfkit login --token T`
#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// The token to store.
    #[arg(long, required = true)]
    pub token: String,
}

/// `hfkit logout`
#[derive(clap::Args, Debug)]
pub struct LogoutArgs {
    /// Remove only the token stored under this name (default: all stored tokens).
    #[arg(long)]
    pub token_name: Option<String>,
}

/// Runs `whoami`.
pub fn whoami(a: WhoamiArgs) -> Result<()> {
    let hub = super::client(a.token.as_deref(), None)?;
    let me = hub.whoami()?;
    if a.json {
        let text = serde_json::to_string_pretty(&me).map_err(|e| Error::json("whoami", e))?;
        outln!("{text}");
        return Ok(());
    }
    outln!("{}", me.name);
    let orgs: Vec<&str> = me.orgs.iter().map(|o| o.name.as_str()).collect();
    if !orgs.is_empty() {
        outln!("orgs: {}", orgs.join(","));
    }
    Ok(())
}

/// Runs `login`.
pub fn login(a: LoginArgs) -> Result<()> {
    let token =
        Token::clean(&a.token).ok_or_else(|| Error::InvalidInput("the token is empty".into()))?;
    let hub = super::client(Some(token.expose()), None)?;
    let me = hub.whoami()?;
    let name = me
        .auth
        .access_token
        .as_ref()
        .and_then(|t| t.display_name.clone())
        .unwrap_or_else(|| format!("oauth-{}", me.name));
    let settings = Settings::from_env()?;
    store_token(settings.token_path(), &name, &token)?;
    eprintln!(
        "Logged in as {} (token {name:?} stored in {}).",
        me.name,
        settings.token_path().display()
    );
    Ok(())
}

/// Runs `logout`.
pub fn logout(a: LogoutArgs) -> Result<()> {
    let settings = Settings::from_env()?;
    remove_token(settings.token_path(), a.token_name.as_deref())?;
    match a.token_name {
        Some(n) => eprintln!("Removed the token {n:?}."),
        None => eprintln!("Removed every stored token."),
    }
    Ok(())
}
