//! ES9+ over HTTPS: reqwest's blocking client on rustls.

use std::path::Path;
use std::time::Duration;

use simforge_asn1::json::Es9Function;
use simforge_lpa::{Es9Transport, X_ADMIN_PROTOCOL};

use crate::Error;

/// How the HTTPS client trusts the server.
#[derive(Clone, Debug)]
pub struct HttpsConfig {
    /// PEM bundle of CA certificates to trust (e.g. a lab CI / DPtls chain).
    pub ca_pem: Option<Vec<u8>>,
    /// With `ca_pem`: trust those only, not the built-in web roots as well.
    pub pin_ca: bool,
    /// Accept any certificate (lab use only; lpac does the same).
    pub insecure: bool,
    /// The User-Agent header.
    pub user_agent: String,
}

impl HttpsConfig {
    /// The built-in web roots, `user_agent`.
    pub fn new(user_agent: impl Into<String>) -> Self {
        Self {
            ca_pem: None,
            pin_ca: false,
            insecure: false,
            user_agent: user_agent.into(),
        }
    }
}

/// Reads a PEM bundle of CA certificates.
///
/// # Errors
/// [`Error::Io`].
pub fn read_ca(path: &Path) -> Result<Vec<u8>, Error> {
    crate::identity::read(path)
}

/// The ES9+ transport over HTTPS (every request times out after 60 s). Cloning shares the
/// connection pool; a new [`Https`] opens new connections.
#[derive(Clone, Debug)]
pub struct Https {
    client: reqwest::blocking::Client,
}

impl Https {
    /// A client as `config` says.
    ///
    /// # Errors
    /// [`Error::Http`] if the CA bundle is not PEM or the TLS setup fails.
    pub fn new(config: &HttpsConfig) -> Result<Self, Error> {
        let mut b = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(60))
            .user_agent(config.user_agent.as_str());
        if let Some(pem) = &config.ca_pem {
            if config.pin_ca {
                b = b.tls_built_in_root_certs(false);
            }
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                b = b.add_root_certificate(cert);
            }
        }
        if config.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        Ok(Self { client: b.build()? })
    }

    /// The HTTP client, for other calls to the same server (e.g. ES2+).
    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    /// POSTs an ES9+ `function` to `server_address`: the HTTP status and body.
    ///
    /// # Errors
    /// [`simforge_lpa::Error::Transport`] if no HTTP exchange took place.
    pub fn post_es9(
        &self,
        server_address: &str,
        function: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        let url = format!(
            "https://{server_address}{}{function}",
            simforge_lpa::ES9_PATH
        );
        let resp = self
            .client
            .post(url)
            .header("Content-Type", "application/json;charset=UTF-8")
            .header("X-Admin-Protocol", X_ADMIN_PROTOCOL)
            .body(body.to_vec())
            .send()
            .map_err(|e| simforge_lpa::Error::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .map_err(|e| simforge_lpa::Error::Transport(e.to_string()))?;
        Ok((status, bytes.to_vec()))
    }
}

impl Es9Transport for Https {
    fn post(
        &mut self,
        server_address: &str,
        function: Es9Function,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), simforge_lpa::Error> {
        self.post_es9(server_address, function.name(), body)
    }
}
