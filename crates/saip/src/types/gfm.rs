//! `PE-GenericFileManagement` (SAIP section 8.3.5): file creation and update outside the
//! templates.

use rasn::prelude::*;

use crate::types::common::{Extensions, Fcp, PeHeader, saip_choice};

/// `PE-GenericFileManagement ::= SEQUENCE { gfm-header PEHeader,
/// fileManagementCMD SEQUENCE (SIZE (1..MAX)) OF FileManagement }` (automatic tags).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PeGenericFileManagement {
    /// `gfm-header`.
    #[rasn(tag(context, 0))]
    pub header: PeHeader,
    /// `fileManagementCMD`: a list of command sequences.
    #[rasn(tag(context, 1))]
    pub file_management_cmd: Vec<FileManagement>,
    /// Unknown extension components.
    pub extensions: Extensions,
}

/// `FileManagement ::= SEQUENCE (SIZE (1..MAX)) OF CHOICE {...}`.
pub type FileManagement = Vec<FileManagementCmd>;

saip_choice! {
    /// One command of a [`FileManagement`] sequence. The alternatives carry their own tags
    /// (so no automatic tagging applies; `fillFileOffset` is a plain universal INTEGER).
    #[derive(Debug)]
    pub enum FileManagementCmd {
        /// `filePath [0] OCTET STRING (SIZE (0..8))`: select by path (temporary FID for ADFs).
        FilePath(OctetString) = Tag::new(Class::Context, 0), "filePath";
        /// `createFCP [APPLICATION 2] Fcp`: create a file (tag `62`, as in a CREATE FILE FCP).
        CreateFcp(Box<Fcp>) = Tag::new(Class::Application, 2), "createFCP";
        /// `fillFileOffset UInt16` (universal INTEGER).
        FillFileOffset(u16) = Tag::INTEGER, "fillFileOffset";
        /// `fillFileContent [1] OCTET STRING`.
        FillFileContent(OctetString) = Tag::new(Class::Context, 1), "fillFileContent";
    }
}
