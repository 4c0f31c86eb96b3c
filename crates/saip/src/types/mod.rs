//! Rust mirrors of the ASN.1 types of `PEDefinitions` (TCA eUICC Profile Package:
//! Interoperable Format Technical Specification, version 3.3.1).
//!
//! | ASN.1 | Rust | module |
//! | --- | --- | --- |
//! | `PEHeader`, `File`, `Fcp`, `ProprietaryInfo` | [`PeHeader`], [`File`], [`Fcp`], [`ProprietaryInfo`] | [`common`] |
//! | `ProfileHeader`, `ServicesList`, `IotOptions` | [`ProfileHeader`], [`ServicesList`], [`IotOptions`] | [`header`] |
//! | `PE-MF` … `PE-OPT-IoT` (file-system templates) | [`PeMf`] … [`PeOptIot`] | [`templates`] |
//! | `PE-GenericFileManagement`, `FileManagement` | [`PeGenericFileManagement`], [`FileManagementCmd`] | [`gfm`] |
//! | `PE-AKAParameter`, `AlgoParameter`, `MappingParameter`, `PE-CDMAParameter` | [`PeAkaParameter`], … | [`aka`] |
//! | `PE-PINCodes`, `PE-PUKCodes` | [`PePinCodes`], [`PePukCodes`] | [`pin`] |
//! | `PE-SecurityDomain`, `KeyObject`, `PE-Application`, `ApplicationInstance`, `PE-RFM` | … | [`app`] |
//! | `PE-NonStandard`, `PE-End`, `PE-Dummy`, `PEStatus`, `EUICCResponse`, `UICCCapability` | … | [`misc`] |
//!
//! Conventions: ASN.1 `OCTET STRING` → [`rasn::types::OctetString`], `UInt8/15/16/31` →
//! `u8/u16/u16/u32`, `NULL OPTIONAL` → `Option<()>`, `DEFAULT` → `Option<T>` (absent on the
//! wire = `None`), and every SEQUENCE ends with an [`Extensions`] field holding unknown
//! extension components.

pub mod aka;
pub mod app;
pub mod common;
pub mod gfm;
pub mod header;
pub mod misc;
pub mod pin;
pub mod templates;

pub use aka::*;
pub use app::*;
pub use common::{Extensions, Fcp, File, FileElement, PeHeader, ProprietaryInfo};
pub use gfm::*;
pub use header::*;
pub use misc::*;
pub use pin::*;
pub use templates::*;
