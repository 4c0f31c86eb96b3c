//! Blocking GSUP client over IPA (TCP), as an MSC/VLR or SGSN would talk to osmo-hlr.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::Error;
use crate::gsup::{self, AuthTuple};
use crate::ipa::{self, Frame};

/// Default IPA identity (serial number / unit name) the client announces.
pub const DEFAULT_CLIENT_NAME: &str = "simforge-gsup";
/// Default timeout for connecting and for each answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A GSUP client connected to an HLR's GSUP port (osmo-hlr: TCP 4222).
///
/// On connect it answers the HLR's IPA ID_GET with an ID_RESP carrying the serial-number tag
/// (osmo-hlr routes answers by it), the unit name and the unit-ID tag; without that the HLR
/// drops the connection. Requests are strictly sequential; IPA PINGs are answered on the way.
///
/// After an I/O or protocol error the connection is considered out of step and every later
/// call fails; connect again. A GSUP error answer ([`Error::Gsup`]) leaves the client usable.
#[derive(Debug)]
pub struct GsupClient {
    stream: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
    broken: bool,
}

impl GsupClient {
    /// Connects to `addr` with [`DEFAULT_CLIENT_NAME`] and [`DEFAULT_TIMEOUT`] and performs the
    /// IPA identity handshake.
    pub fn connect(addr: SocketAddr) -> Result<GsupClient, Error> {
        Self::connect_with(addr, DEFAULT_CLIENT_NAME, DEFAULT_TIMEOUT)
    }

    /// Connects to `addr`, announcing `name` as the IPA serial number and unit name, waiting at
    /// most `timeout` for the connection and for each answer.
    ///
    /// Every client connected to one osmo-hlr at the same time needs its own `name`.
    pub fn connect_with(
        addr: SocketAddr,
        name: &str,
        timeout: Duration,
    ) -> Result<GsupClient, Error> {
        if name.is_empty() || name.len() > 63 || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidArgument(
                "IPA name must be 1 to 63 printable ASCII characters",
            ));
        }
        if timeout.is_zero() {
            return Err(Error::InvalidArgument("timeout must be non-zero"));
        }
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| Error::io(format!("connecting to GSUP server {addr}"), e))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| Error::io("configuring GSUP socket", e))?;
        let mut client = GsupClient {
            stream,
            peer: addr,
            timeout,
            broken: false,
        };
        client.handshake(name)?;
        Ok(client)
    }

    /// The address of the HLR.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    fn handshake(&mut self, name: &str) -> Result<(), Error> {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.check_deadline(deadline, "waiting for the HLR's IPA ID_GET")?;
            let frame = self.read_frame("waiting for the HLR's IPA ID_GET")?;
            if frame.stream != ipa::STREAM_CCM {
                // osmo-hlr sends nothing before ID_GET; ignore anything unexpected.
                continue;
            }
            match frame.payload.split_first() {
                Some((&ipa::CCM_ID_GET, body)) => {
                    let requested = ipa::parse_id_get(body)?;
                    let mut idents: Vec<(u8, &str)> = vec![
                        (ipa::IDTAG_SERNR, name),
                        (ipa::IDTAG_UNITNAME, name),
                        (ipa::IDTAG_UNIT, "0/0/0"),
                    ];
                    for tag in requested {
                        if !idents.iter().any(|(t, _)| *t == tag) {
                            let value = if tag == ipa::IDTAG_MACADDR {
                                "00:00:00:00:00:00"
                            } else {
                                ""
                            };
                            idents.push((tag, value));
                        }
                    }
                    let resp = ipa::encode_id_resp(&idents)?;
                    return self.write_all(&resp, "sending IPA ID_RESP");
                }
                Some((&ipa::CCM_PING, _)) => self.pong()?,
                _ => {}
            }
        }
    }

    /// Asks the HLR for authentication vectors of `imsi` (SendAuthInfo) and returns at most
    /// `num_vectors` of them.
    ///
    /// GSUP has no "number of vectors" IE: osmo-hlr always generates 5 vectors per request
    /// (and advances the subscriber's SQN for all 5); the surplus is dropped here.
    /// An unknown IMSI, or a subscriber without authentication data, gives
    /// [`Error::Gsup`] with [`GsupCause::IMSI_UNKNOWN`](crate::GsupCause::IMSI_UNKNOWN).
    pub fn send_auth_info(&mut self, imsi: &str, num_vectors: u8) -> Result<Vec<AuthTuple>, Error> {
        if num_vectors == 0 {
            return Err(Error::InvalidArgument("num_vectors must be at least 1"));
        }
        let req = gsup::encode_send_auth_info_request(imsi, None)?;
        let mut tuples = self.transact(imsi, &req)?;
        tuples.truncate(usize::from(num_vectors));
        Ok(tuples)
    }

    /// SendAuthInfo with re-synchronisation: `rand` is the RAND of the challenge the card
    /// rejected and `auts` the card's AUTS (SQN_MS ⊕ AK* ‖ MAC-S). The HLR checks MAC-S,
    /// adopts SQN_MS and returns fresh vectors (all of them, normally 5).
    pub fn send_auth_info_resync(
        &mut self,
        imsi: &str,
        rand: &[u8; 16],
        auts: &[u8; 14],
    ) -> Result<Vec<AuthTuple>, Error> {
        let req = gsup::encode_send_auth_info_request(imsi, Some((rand, auts)))?;
        self.transact(imsi, &req)
    }

    fn transact(&mut self, imsi: &str, req: &[u8]) -> Result<Vec<AuthTuple>, Error> {
        if self.broken {
            return Err(Error::ConnectionClosed(
                "GSUP connection unusable after an earlier error; reconnect".into(),
            ));
        }
        let frame = ipa::encode_osmo_frame(ipa::EXT_GSUP, req)?;
        self.write_all(&frame, "sending GSUP SendAuthInfo request")?;
        let deadline = Instant::now() + self.timeout;
        loop {
            self.check_deadline(deadline, "waiting for the SendAuthInfo answer")?;
            let frame = self.read_frame("waiting for the SendAuthInfo answer")?;
            match (frame.stream, frame.payload.split_first()) {
                (ipa::STREAM_CCM, Some((&ipa::CCM_PING, _))) => self.pong()?,
                (ipa::STREAM_OSMO, Some((&ipa::EXT_GSUP, body))) => {
                    let msg = gsup::decode(body).inspect_err(|_| self.broken = true)?;
                    if msg.imsi.as_deref().is_some_and(|i| i != imsi) {
                        continue;
                    }
                    match msg.message_type {
                        gsup::MSGT_SEND_AUTH_INFO_RESULT => {
                            if msg.auth_tuples.is_empty() {
                                return Err(Error::malformed_gsup(
                                    "SendAuthInfo result without auth tuples",
                                ));
                            }
                            return Ok(msg.auth_tuples);
                        }
                        gsup::MSGT_SEND_AUTH_INFO_ERROR => {
                            return Err(Error::Gsup { cause: msg.cause });
                        }
                        _ => continue,
                    }
                }
                _ => continue,
            }
        }
    }

    /// Fails once `deadline` has passed (a peer sending unrelated frames forever would
    /// otherwise keep resetting the socket's read timeout).
    fn check_deadline(&mut self, deadline: Instant, what: &str) -> Result<(), Error> {
        if Instant::now() > deadline {
            self.broken = true;
            return Err(Error::Timeout(what.to_owned()));
        }
        Ok(())
    }

    fn pong(&mut self) -> Result<(), Error> {
        let pong = ipa::encode_frame(ipa::STREAM_CCM, &[ipa::CCM_PONG])?;
        self.write_all(&pong, "sending IPA PONG")
    }

    fn write_all(&mut self, bytes: &[u8], what: &str) -> Result<(), Error> {
        self.stream.write_all(bytes).map_err(|e| {
            self.broken = true;
            Error::io(what, e)
        })
    }

    fn read_frame(&mut self, what: &str) -> Result<Frame, Error> {
        let r = read_frame(&mut self.stream, what);
        if r.is_err() {
            self.broken = true;
        }
        r
    }
}

fn read_frame(stream: &mut TcpStream, what: &str) -> Result<Frame, Error> {
    let mut header = [0u8; 3];
    read_exact(stream, &mut header, what)?;
    let len = usize::from(u16::from_be_bytes([header[0], header[1]]));
    let mut payload = vec![0u8; len];
    read_exact(stream, &mut payload, what)?;
    Ok(Frame {
        stream: header[2],
        payload,
    })
}

fn read_exact(stream: &mut TcpStream, buf: &mut [u8], what: &str) -> Result<(), Error> {
    stream.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            Error::Timeout(what.to_owned())
        }
        std::io::ErrorKind::UnexpectedEof => Error::ConnectionClosed(what.to_owned()),
        _ => Error::io(what, e),
    })
}
