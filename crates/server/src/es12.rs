//! The SM-DP+'s side of ES12: registering and deleting events at an SM-DS over mutual TLS
//! (the SM-DP+'s DPtls certificate as client identity), with answers classified for an
//! at-least-once sender: a registration answered "already registered" (8.9.5 / 3.3) and a
//! deletion answered "unknown" (8.9.5 / 3.9) are what a retry of a call that did arrive gets,
//! so both count as done. The same client, [`Es12Client::es15`], is an alternative SM-DS's
//! ES15 client (its DStls identity; the ES15 paths, the same members).

use std::time::Duration;

use simforge_asn1::StatusCode;
use simforge_asn1::json::{
    self, DeleteEventRequest, Es12Function, HeaderOnlyResponse, RegisterEventRequest,
};

use crate::Error;
use crate::http::ADMIN_PROTOCOL;

/// How an ES12 call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Es12Outcome {
    /// Done (or found already done).
    Done,
    /// The SM-DS refused it with this code (not worth retrying as is).
    Refused(StatusCode),
    /// No answer, or not an SGP.22 one (HTTP status, transport error): retry later.
    Retry(String),
}

/// An ES12 client.
#[derive(Clone, Debug)]
pub struct Es12Client {
    http: reqwest::Client,
    es15: bool,
}

impl Es12Client {
    /// A client presenting `identity_pem` (certificate chain and PKCS#8 key, PEM: the
    /// SM-DP+'s DPtls; rustls refuses a certificate with critical certificatePolicies such as
    /// DPauth) and trusting the certificates of `ca_pem` besides the system roots (for a lab
    /// SM-DS its CI), each call bounded by `timeout`.
    ///
    /// # Errors
    /// [`Error::Tls`] naming what is wrong (never the PEM's content).
    pub fn new(
        identity_pem: &[u8],
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Self, Error> {
        Self::resolving(identity_pem, ca_pem, timeout, None)
    }

    /// As [`Es12Client::new`], with the SM-DS named `host` reached at `at` whatever DNS says
    /// (an SM-DS co-hosted in this process: `serve --with-smds`; its TLS name still checked).
    ///
    /// # Errors
    /// As [`Es12Client::new`].
    pub fn resolving(
        identity_pem: &[u8],
        ca_pem: Option<&[u8]>,
        timeout: Duration,
        resolve: Option<(&str, std::net::SocketAddr)>,
    ) -> Result<Self, Error> {
        let mut b = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none());
        if let Some((host, at)) = resolve {
            b = b.resolve(host, at);
        }
        if let Some(pem) = ca_pem {
            for c in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::tls("ES12 CA bundle", e.without_url()))?
            {
                b = b.add_root_certificate(c);
            }
        }
        let id = reqwest::Identity::from_pem(identity_pem)
            .map_err(|e| Error::tls("ES12 client identity", e.without_url()))?;
        let http = b
            .identity(id)
            .build()
            .map_err(|e| Error::tls("ES12 HTTP client", e.without_url()))?;
        Ok(Self { http, es15: false })
    }

    /// This client posting to the ES15 paths (`/gsma/rsp2/es15/…`): an alternative SM-DS
    /// forwarding to the root SM-DS.
    #[must_use]
    pub fn es15(mut self) -> Self {
        self.es15 = true;
        self
    }

    /// A client over an HTTP client built elsewhere (it must present the client identity).
    #[must_use]
    pub fn from_client(http: reqwest::Client) -> Self {
        Self { http, es15: false }
    }

    /// ES12.RegisterEvent at the SM-DS `smds_address` (`host[:port]`).
    pub async fn register_event(
        &self,
        smds_address: &str,
        req: &RegisterEventRequest,
    ) -> Es12Outcome {
        let body = json::to_json(req);
        self.call(
            smds_address,
            Es12Function::RegisterEvent,
            body,
            &StatusCode::EVENT_ID_CONFLICT,
        )
        .await
    }

    /// ES12.DeleteEvent at the SM-DS `smds_address`.
    pub async fn delete_event(&self, smds_address: &str, req: &DeleteEventRequest) -> Es12Outcome {
        let body = json::to_json(req);
        self.call(
            smds_address,
            Es12Function::DeleteEvent,
            body,
            &StatusCode::EVENT_ID_UNKNOWN,
        )
        .await
    }

    async fn call(
        &self,
        smds_address: &str,
        function: Es12Function,
        body: Result<Vec<u8>, simforge_asn1::Error>,
        already_done: &StatusCode,
    ) -> Es12Outcome {
        let body = match body {
            Ok(b) => b,
            Err(e) => return Es12Outcome::Retry(format!("request body: {e}")),
        };
        let path = match self.es15 {
            true => function.es15_path(),
            false => function.path(),
        };
        let url = format!("https://{smds_address}{path}");
        let resp = match self
            .http
            .post(url)
            .header("content-type", "application/json;charset=UTF-8")
            .header("x-admin-protocol", ADMIN_PROTOCOL)
            .body(body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                // The whole chain: reqwest's own text ("error sending request") says nothing
                // of a refused connection or an untrusted certificate.
                let e = e.without_url();
                return Es12Outcome::Retry(format!("request failed: {}", crate::ErrorChain(&e)));
            }
        };
        let status = resp.status();
        let Ok(bytes) = resp.bytes().await else {
            return Es12Outcome::Retry(format!("HTTP {}: body unreadable", status.as_u16()));
        };
        let Ok(h) = json::from_json::<HeaderOnlyResponse>(&bytes) else {
            return Es12Outcome::Retry(format!("HTTP {}: not an SGP.22 answer", status.as_u16()));
        };
        let s = h.header.function_execution_status;
        if s.is_executed() {
            return Es12Outcome::Done;
        }
        match s.status_code_data.as_ref().and_then(|d| d.code().ok()) {
            Some(c) if &c == already_done => Es12Outcome::Done,
            // Our own trouble at the SM-DS (1.2 / 4.2 "temporarily unavailable", 401): later.
            Some(c) if status.is_server_error() || c.subject() == "1.2" => {
                Es12Outcome::Retry(format!("HTTP {}: {c}", status.as_u16()))
            }
            Some(c) => Es12Outcome::Refused(c),
            None => Es12Outcome::Retry(format!("HTTP {}: no status code", status.as_u16())),
        }
    }
}
