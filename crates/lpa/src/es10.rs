//! ES10 over APDUs: STORE DATA chaining, `61xx` / GET RESPONSE, and the typed functions.

use simforge_asn1::rasn::{Decode, Encode};
use simforge_asn1::rsp::*;
use simforge_asn1::{Extensions, from_ber, to_der};

use crate::{Card, Error};

/// ISD-R AID.
pub const AID_ISD_R: [u8; 16] = [
    0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00,
];

/// Largest STORE DATA block.
const BLOCK: usize = 255;

fn ext() -> Extensions {
    Extensions::default()
}

fn sw_of(resp: &[u8]) -> Result<(u16, &[u8]), Error> {
    match resp {
        [data @ .., a, b] => Ok((u16::from_be_bytes([*a, *b]), data)),
        _ => Err(Error::Card("response shorter than a status word".into())),
    }
}

/// An ES10 client on one logical channel of a [`Card`] with the ISD-R selected.
pub struct Es10<C: Card> {
    card: C,
    channel: u8,
}

impl<C: Card> core::fmt::Debug for Es10<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Es10")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl<C: Card> Es10<C> {
    /// Opens a logical channel (MANAGE CHANNEL) and selects the ISD-R on it; falls back to the
    /// basic channel if the card has no free logical channel.
    ///
    /// # Errors
    /// [`Error::Card`] / [`Error::Sw`] if the ISD-R cannot be selected.
    pub fn open(mut card: C) -> Result<Self, Error> {
        let r = card.transmit(&[0x00, 0x70, 0x00, 0x00, 0x01])?;
        let channel = match r.as_slice() {
            [ch, 0x90, 0x00] if *ch > 0 && *ch < 4 => *ch,
            _ => 0,
        };
        let mut es10 = Self { card, channel };
        let mut select = vec![channel, 0xA4, 0x04, 0x00, 0x10];
        select.extend_from_slice(&AID_ISD_R);
        select.push(0x00);
        es10.exchange(&select, "SELECT ISD-R")?;
        Ok(es10)
    }

    /// Uses a channel on which the ISD-R is already selected (e.g. by a driver).
    pub fn on_channel(card: C, channel: u8) -> Self {
        Self { card, channel }
    }

    /// Closes the logical channel (if one was opened) and returns the card.
    pub fn close(mut self) -> C {
        if self.channel != 0 {
            let _ = self.card.transmit(&[0x00, 0x70, 0x80, self.channel]);
        }
        self.card
    }

    /// Returns the card without closing the channel (e.g. for a driver that closes it itself).
    pub fn into_card(self) -> C {
        self.card
    }

    /// The card, for commands outside ES10 (e.g. to the USIM on another channel).
    pub fn card(&mut self) -> &mut C {
        &mut self.card
    }

    fn cla(&self, proprietary: bool) -> u8 {
        let base = if proprietary { 0x80 } else { 0x00 };
        base | (self.channel & 0x03)
    }

    /// Sends one APDU, following `61xx` with GET RESPONSE; returns the data on `9000`.
    fn exchange(&mut self, apdu: &[u8], what: &'static str) -> Result<Vec<u8>, Error> {
        let resp = self.card.transmit(apdu)?;
        let (mut sw, data) = sw_of(&resp)?;
        let mut out = data.to_vec();
        let mut rounds = 0;
        while sw >> 8 == 0x61 {
            rounds += 1;
            if rounds > 1024 {
                return Err(Error::Card("endless GET RESPONSE chain".into()));
            }
            let le = u8::try_from(sw & 0xFF).unwrap_or(0);
            let r = self
                .card
                .transmit(&[self.cla(true), 0xC0, 0x00, 0x00, le])?;
            let (s, d) = sw_of(&r)?;
            out.extend_from_slice(d);
            sw = s;
        }
        if sw != 0x9000 {
            return Err(Error::Sw { command: what, sw });
        }
        Ok(out)
    }

    /// Sends one ES10 command (any length) as a STORE DATA sequence and returns the response
    /// (empty for an intermediate BPP piece).
    ///
    /// # Errors
    /// [`Error::Card`] or [`Error::Sw`].
    pub fn transceive(&mut self, command: &[u8], what: &'static str) -> Result<Vec<u8>, Error> {
        let blocks: Vec<&[u8]> = if command.is_empty() {
            vec![&[][..]]
        } else {
            command.chunks(BLOCK).collect()
        };
        let n = blocks.len();
        if n > 256 {
            return Err(Error::InvalidInput("ES10 command too long".into()));
        }
        let mut out = Vec::new();
        for (i, block) in blocks.into_iter().enumerate() {
            let last = i + 1 == n;
            let mut apdu = vec![
                self.cla(true),
                0xE2,
                if last { 0x91 } else { 0x11 },
                u8::try_from(i).unwrap_or(0),
                u8::try_from(block.len()).unwrap_or(0),
            ];
            apdu.extend_from_slice(block);
            out = self.exchange(&apdu, what)?;
        }
        Ok(out)
    }

    fn call<Req: Encode, Resp: Decode>(
        &mut self,
        req: &Req,
        what: &'static str,
    ) -> Result<Resp, Error> {
        let der = to_der(req).map_err(|e| Error::Asn1(e.to_string()))?;
        let resp = self.transceive(&der, what)?;
        from_ber(&resp).map_err(|e| Error::Asn1(format!("{what}: {e}")))
    }

    /// ES10b.GetEUICCChallenge.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn get_euicc_challenge(&mut self) -> Result<[u8; 16], Error> {
        let r: GetEuiccChallengeResponse =
            self.call(&GetEuiccChallengeRequest::default(), "GetEUICCChallenge")?;
        let c: &[u8] = r.euicc_challenge.as_ref();
        c.try_into()
            .map_err(|_| Error::Protocol("challenge is not 16 bytes".into()))
    }

    /// ES10b.GetEUICCInfo (EUICCInfo1).
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn get_euicc_info1(&mut self) -> Result<EuiccInfo1, Error> {
        self.call(&GetEuiccInfo1Request::default(), "GetEUICCInfo1")
    }

    /// The raw EUICCInfo1 (`BF20`), to forward unchanged to the SM-DP+.
    ///
    /// # Errors
    /// Card or status word errors.
    pub fn get_euicc_info1_raw(&mut self) -> Result<Vec<u8>, Error> {
        let der =
            to_der(&GetEuiccInfo1Request::default()).map_err(|e| Error::Asn1(e.to_string()))?;
        self.transceive(&der, "GetEUICCInfo1")
    }

    /// ES10b.GetEUICCInfo (EUICCInfo2).
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn get_euicc_info2(&mut self) -> Result<EuiccInfo2, Error> {
        self.call(&GetEuiccInfo2Request::default(), "GetEUICCInfo2")
    }

    /// ES10c.GetEID: the EID as 32 digits.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn get_eid(&mut self) -> Result<String, Error> {
        let r: GetEuiccDataResponse = self.call(
            &GetEuiccDataRequest {
                tag_list: vec![0x5A].into(),
                extensions: ext(),
            },
            "GetEID",
        )?;
        Ok(hex::encode_upper(r.eid_value.as_ref()))
    }

    /// ES10c.GetProfilesInfo with optional search criteria and tag list.
    ///
    /// # Errors
    /// Card, status word or decoding errors; [`Error::Euicc`] for a profileInfoListError.
    pub fn list_profiles(
        &mut self,
        search_criteria: Option<ProfileSearchCriteria>,
        tag_list: Option<Vec<u8>>,
    ) -> Result<Vec<ProfileInfo>, Error> {
        let r: ProfileInfoListResponse = self.call(
            &ProfileInfoListRequest {
                search_criteria,
                tag_list: tag_list.map(Into::into),
                extensions: ext(),
            },
            "ListProfileInfo",
        )?;
        match r {
            ProfileInfoListResponse::ProfileInfoListOk(l) => Ok(l),
            ProfileInfoListResponse::ProfileInfoListError(e) => Err(Error::Euicc {
                function: "ListProfileInfo",
                code: e.0,
            }),
            ProfileInfoListResponse::Unknown(_) => {
                Err(Error::Protocol("unknown ListProfileInfo response".into()))
            }
        }
    }

    /// ES10c.EnableProfile.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn enable_profile(
        &mut self,
        id: ProfileIdentifier,
        refresh: bool,
    ) -> Result<ResultCode, Error> {
        let r: EnableProfileResponse = self.call(
            &EnableProfileRequest {
                profile_identifier: id,
                refresh_flag: refresh,
                extensions: ext(),
            },
            "EnableProfile",
        )?;
        Ok(r.enable_result)
    }

    /// ES10c.DisableProfile.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn disable_profile(
        &mut self,
        id: ProfileIdentifier,
        refresh: bool,
    ) -> Result<ResultCode, Error> {
        let r: DisableProfileResponse = self.call(
            &DisableProfileRequest {
                profile_identifier: id,
                refresh_flag: refresh,
                extensions: ext(),
            },
            "DisableProfile",
        )?;
        Ok(r.disable_result)
    }

    /// ES10c.DeleteProfile.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn delete_profile(&mut self, id: ProfileIdentifier) -> Result<ResultCode, Error> {
        let r: DeleteProfileResponse = self.call(&DeleteProfileRequest(id), "DeleteProfile")?;
        Ok(r.delete_result)
    }

    /// ES10c.SetNickname.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn set_nickname(&mut self, iccid: Iccid, nickname: &str) -> Result<ResultCode, Error> {
        let r: SetNicknameResponse = self.call(
            &SetNicknameRequest {
                iccid,
                profile_nickname: nickname.to_owned(),
                extensions: ext(),
            },
            "SetNickname",
        )?;
        Ok(r.set_nickname_result)
    }

    /// ES10c.eUICCMemoryReset.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn memory_reset(&mut self, options: ResetOptions) -> Result<ResultCode, Error> {
        let r: EuiccMemoryResetResponse = self.call(
            &EuiccMemoryResetRequest {
                reset_options: options,
                extensions: ext(),
            },
            "eUICCMemoryReset",
        )?;
        Ok(r.reset_result)
    }

    /// ES10a.GetEuiccConfiguredAddresses.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn configured_addresses(&mut self) -> Result<EuiccConfiguredAddressesResponse, Error> {
        self.call(
            &EuiccConfiguredAddressesRequest::default(),
            "GetEuiccConfiguredAddresses",
        )
    }

    /// ES10a.SetDefaultDpAddress.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn set_default_dp_address(&mut self, address: &str) -> Result<ResultCode, Error> {
        let r: SetDefaultDpAddressResponse = self.call(
            &SetDefaultDpAddressRequest {
                default_dp_address: address.to_owned(),
                extensions: ext(),
            },
            "SetDefaultDpAddress",
        )?;
        Ok(r.set_default_dp_address_result)
    }

    /// ES10b.GetRAT.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn get_rat(&mut self) -> Result<RulesAuthorisationTable, Error> {
        let r: GetRatResponse = self.call(&GetRatRequest::default(), "GetRAT")?;
        Ok(r.rat)
    }

    /// ES10b.ListNotification.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn list_notifications(
        &mut self,
        filter: Option<NotificationEvent>,
    ) -> Result<Vec<NotificationMetadata>, Error> {
        let r: ListNotificationResponse = self.call(
            &ListNotificationRequest {
                profile_management_operation: filter,
                extensions: ext(),
            },
            "ListNotification",
        )?;
        match r {
            ListNotificationResponse::NotificationMetadataList(l) => Ok(l),
            ListNotificationResponse::ListNotificationsResultError(c) => Err(Error::Euicc {
                function: "ListNotification",
                code: c,
            }),
            ListNotificationResponse::Unknown(_) => {
                Err(Error::Protocol("unknown ListNotification response".into()))
            }
        }
    }

    /// ES10b.RetrieveNotificationsList, returning each PendingNotification's raw DER (to
    /// forward unchanged) and its decoded form.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn retrieve_notifications(
        &mut self,
        criteria: Option<NotificationSearchCriteria>,
    ) -> Result<Vec<(Vec<u8>, PendingNotification)>, Error> {
        let der = to_der(&RetrieveNotificationsListRequest {
            search_criteria: criteria,
            extensions: ext(),
        })
        .map_err(|e| Error::Asn1(e.to_string()))?;
        let resp = self.transceive(&der, "RetrieveNotificationsList")?;
        // BF2B { A0 { notification… } } — keep each element's raw bytes.
        let (outer, _) =
            simforge_asn1::Tlv::parse(&resp).map_err(|e| Error::Asn1(e.to_string()))?;
        let (inner, _) =
            simforge_asn1::Tlv::parse(outer.value).map_err(|e| Error::Asn1(e.to_string()))?;
        match inner.tag {
            [0xA0] => {
                let mut out = Vec::new();
                for t in simforge_asn1::Tlv::parse_all(inner.value)
                    .map_err(|e| Error::Asn1(e.to_string()))?
                {
                    let p: PendingNotification =
                        from_ber(t.raw).map_err(|e| Error::Asn1(e.to_string()))?;
                    out.push((t.raw.to_vec(), p));
                }
                Ok(out)
            }
            [0x81] => {
                let code = inner
                    .value
                    .iter()
                    .fold(0i64, |a, b| (a << 8) | i64::from(*b));
                if code == 1 {
                    Ok(Vec::new())
                } else {
                    Err(Error::Euicc {
                        function: "RetrieveNotificationsList",
                        code,
                    })
                }
            }
            _ => Err(Error::Protocol(
                "unknown RetrieveNotificationsList response".into(),
            )),
        }
    }

    /// ES10b.RemoveNotificationFromList.
    ///
    /// # Errors
    /// Card, status word or decoding errors.
    pub fn remove_notification(&mut self, seq_number: i64) -> Result<ResultCode, Error> {
        let r: NotificationSentResponse = self.call(
            &NotificationSentRequest {
                seq_number,
                extensions: ext(),
            },
            "RemoveNotificationFromList",
        )?;
        Ok(r.delete_notification_status)
    }

    /// ES10b.CancelSession; returns the raw CancelSessionResponse (`BF41`).
    ///
    /// # Errors
    /// Card or status word errors.
    pub fn cancel_session(
        &mut self,
        transaction_id: simforge_asn1::TransactionId,
        reason: CancelSessionReason,
    ) -> Result<Vec<u8>, Error> {
        let der = to_der(&CancelSessionRequest {
            transaction_id,
            reason,
            extensions: ext(),
        })
        .map_err(|e| Error::Asn1(e.to_string()))?;
        self.transceive(&der, "CancelSession")
    }
}
