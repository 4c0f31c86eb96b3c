//! Random bytes into every top-level SGP.22 decoder (simforge-asn1).
//! Decoding must never panic; whatever decodes must re-encode, and the
//! DER re-encoding must decode back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simforge_asn1::rasn;
use simforge_asn1::rsp::*;
use simforge_asn1::{Tlv, from_ber, to_der};

fn check<T: rasn::Encode + rasn::Decode + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(v) = from_ber::<T>(data) {
        let der = to_der(&v).expect("a decoded value re-encodes");
        let back = from_ber::<T>(&der).expect("DER of a decoded value decodes");
        assert_eq!(back, v);
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = Tlv::parse_all(data);
    check::<EuiccInfo1>(data);
    check::<EuiccInfo2>(data);
    check::<GetEuiccChallengeResponse>(data);
    check::<InitiateAuthenticationRequest>(data);
    check::<InitiateAuthenticationResponse>(data);
    check::<AuthenticateServerRequest>(data);
    check::<AuthenticateServerResponse>(data);
    check::<AuthenticateClientRequest>(data);
    check::<AuthenticateClientResponseEs9>(data);
    check::<AuthenticateClientResponseEs11>(data);
    check::<PrepareDownloadRequest>(data);
    check::<PrepareDownloadResponse>(data);
    check::<GetBoundProfilePackageRequest>(data);
    check::<GetBoundProfilePackageResponse>(data);
    check::<BoundProfilePackage>(data);
    check::<InitialiseSecureChannelRequest>(data);
    check::<ConfigureIsdpRequest>(data);
    check::<StoreMetadataRequest>(data);
    check::<ReplaceSessionKeysRequest>(data);
    check::<ProfileInstallationResult>(data);
    check::<PendingNotification>(data);
    check::<HandleNotification>(data);
    check::<ListNotificationRequest>(data);
    check::<ListNotificationResponse>(data);
    check::<RetrieveNotificationsListRequest>(data);
    check::<RetrieveNotificationsListResponse>(data);
    check::<NotificationSentRequest>(data);
    check::<ProfileInfoListRequest>(data);
    check::<ProfileInfoListResponse>(data);
    check::<EnableProfileRequest>(data);
    check::<DisableProfileRequest>(data);
    check::<DeleteProfileRequest>(data);
    check::<EuiccMemoryResetRequest>(data);
    check::<GetEuiccDataResponse>(data);
    check::<SetNicknameRequest>(data);
    check::<EuiccConfiguredAddressesResponse>(data);
    check::<SetDefaultDpAddressRequest>(data);
    check::<GetRatResponse>(data);
    check::<CancelSessionRequest>(data);
    check::<CancelSessionResponse>(data);
    check::<CancelSessionRequestEs9>(data);
    check::<CancelSessionResponseEs9>(data);
});
