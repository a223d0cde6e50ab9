-- Witnesses' cosignatures of signed roots (SPEC section 8): one signature
-- line per witness and root, verified against the witness's key before it
-- is stored, served after the log's own signature. Public, like the roots.
CREATE TABLE cosignatures (
    period_end INTEGER NOT NULL REFERENCES roots (period_end),
    -- The witness's verifier key (C2SP note form), as configured.
    witness TEXT NOT NULL,
    -- The signature line as the witness returned it, without its newline.
    line TEXT NOT NULL,
    -- The time a tlog-cosignature (type 0x04) signs, in POSIX seconds, as
    -- the witness chose it; NULL for a plain Ed25519 note signature.
    signed_at INTEGER,
    PRIMARY KEY (period_end, witness)
) STRICT, WITHOUT ROWID;
