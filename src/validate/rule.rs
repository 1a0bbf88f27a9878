//! Rule ids and the CEB business error codes they map to: the one list a sender can look
//! rules up in (`single-window validate` prints these ids).

/// Required element absent (schema `minOccurs`).
pub const XSD_REQUIRED: &str = "XSD-REQUIRED";
/// Country code not in the table.
pub const CODE_COUNTRY: &str = "CODE-COUNTRY";
/// Currency code not in the table, or not CNY on an import declaration.
pub const CODE_CURRENCY: &str = "CODE-CURRENCY";
/// Unit of measure not in the table.
pub const CODE_UNIT: &str = "CODE-UNIT";
/// Customs or port code not in the table.
pub const CODE_CUSTOMS: &str = "CODE-CUSTOMS";
/// HS code not in the table.
pub const CODE_HS: &str = "CODE-HS";
/// Import flag (`orderType`, `ieFlag`) is not `I`.
pub const IMPORT_FLAG: &str = "IE-FLAG";
/// A1: order `acturalPaid` = `goodsValue` + `freight` + `taxTotal` − `discount`.
pub const A1: &str = "A1";
/// A3: line `totalPrice` = `price` × `qty`.
pub const A3: &str = "A3";
/// A4: head goods value = sum of line totals.
pub const A4: &str = "A4";
/// Money or quantity below zero.
pub const NEGATIVE: &str = "NEGATIVE";
/// `packNo` is fixed to 1.
pub const PACK_NO: &str = "PACK-NO";
/// `gnum` runs 1..n without gaps or duplicates.
pub const GNUM: &str = "GNUM";
/// CEB code of a duplicate `gnum`.
pub const GNUM_DUPLICATE_CODE: i32 = -621_027;
/// P1: `assureCode` is the platform, the e-commerce enterprise or the logistics enterprise.
pub const P1: &str = "P1";
/// 9610 direct purchase needs the transport fields.
pub const MODE_9610: &str = "MODE-9610";
/// 1210/1239 bonded import needs the bonded-zone fields.
pub const MODE_1210: &str = "MODE-1210";
/// Identity number of type 1 fails GB 11643 (format or check digit).
pub const ID_CHECK: &str = "ID-CHECK";
/// Identity document type must be 1 (resident identity card).
pub const ID_TYPE: &str = "ID-TYPE";
/// Buyer / payer identity fields blank.
pub const BUYER_ID: &str = "BUYER-ID";
/// Q1: over the single-transaction limit.
pub const Q1: &str = "Q1";
/// CEB code of Q1 for one transaction.
pub const Q1_SINGLE_CODE: i32 = -621_005;
/// CEB code of Q1 for the buyer's annual limit.
pub const Q1_ANNUAL_CODE: i32 = -621_018;
/// Gross weight below net weight.
pub const WEIGHT: &str = "WEIGHT";
/// HS code on the negative list.
pub const NEGATIVE_HS: &str = "NEG-HS";
/// Goods name with a negative-list keyword.
pub const NEGATIVE_NAME: &str = "NEG-NAME";
/// Enterprise code not in the register.
pub const ENT_UNKNOWN: &str = "ENT-UNKNOWN";
/// Enterprise suspended.
pub const ENT_SUSPENDED: &str = "ENT-SUSPENDED";
/// Enterprise not registered for the role it appears in.
pub const ENT_ROLE: &str = "ENT-ROLE";
/// Withholding differs from the gateway's computation.
pub const TAX: &str = "TAX";
/// Tax cannot be computed (a rate is missing).
pub const TAX_RATE: &str = "TAX-RATE";
/// A line whose HS code is flagged for inspection is not declared for inspection.
pub const INSPECTION: &str = "INSPECTION";
/// FX settlement amounts do not agree with the rate.
pub const FX_AMOUNT: &str = "FX-AMOUNT";
/// A declaration with no lines.
pub const NO_LINES: &str = "NO-LINES";
