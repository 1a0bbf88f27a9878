//! Receipts out: CEB312 … 626 and CEB900. (Filled in below.)
