/*
 * kat_vectors.h - known-answer test vectors copied from the JOSE RFCs.
 *
 * Every value below is transcribed from the cited RFC section.  The RFCs
 * print JWKs and headers pretty-printed and wrap long base64url values
 * across lines; here JSON objects are given in compact form (no
 * insignificant whitespace, member order as in the RFC) and wrapped
 * base64url values are joined without whitespace.  Long literals are split
 * with C adjacent-string concatenation only, which adds no characters.
 *
 * Only static const data; include from a single test translation unit
 * (unused-variable warnings are possible with -Wunused-const-variable).
 */
#ifndef NBDE_TEST_KAT_VECTORS_H
#define NBDE_TEST_KAT_VECTORS_H

/* ------------------------------------------------------------------ */
/* RFC 7515 Appendix A.3: Example JWS Using ECDSA P-256 SHA-256 (ES256) */
/* ------------------------------------------------------------------ */

/* RFC 7515 A.3.1: ES256 key (P-256, includes private "d") */
static const char kat_rfc7515_a3_es256_jwk[] =
    "{\"kty\":\"EC\""
    ",\"crv\":\"P-256\""
    ",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\""
    ",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\""
    ",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";

/* RFC 7515 A.3.1: complete JWS Compact Serialization; header is
 * {"alg":"ES256"}, payload is the A.1 JWT claims (CRLF line breaks). */
static const char kat_rfc7515_a3_es256_jws[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

/* ------------------------------------------------------------------ */
/* RFC 7515 Appendix A.4: Example JWS Using ECDSA P-521 SHA-512 (ES512) */
/* ------------------------------------------------------------------ */

/* RFC 7515 A.4.1: ES512 key (P-521, includes private "d") */
static const char kat_rfc7515_a4_es512_jwk[] =
    "{\"kty\":\"EC\""
    ",\"crv\":\"P-521\""
    ",\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnY"
    "G_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk\""
    ",\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhj"
    "Dly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2\""
    ",\"d\":\"AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUr"
    "PAxerEzgdRhajnu0ferB0d53vM9mE15j2C\"}";

/* RFC 7515 A.4.1: complete JWS Compact Serialization; header is
 * {"alg":"ES512"}, payload is the ASCII string "Payload". */
static const char kat_rfc7515_a4_es512_jws[] =
    "eyJhbGciOiJFUzUxMiJ9."
    "UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq"
    "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp"
    "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

/* RFC 7515 A.4.1: decoded JWS Payload */
static const char kat_rfc7515_a4_payload[] = "Payload";

/* ------------------------------------------------------------------ */
/* RFC 7518 Appendix C: Example ECDH-ES Key Agreement Computation        */
/* ------------------------------------------------------------------ */

/* RFC 7518 App. C: Alice's (producer's) ephemeral key, incl. private part */
static const char kat_rfc7518_c_alice_epk_jwk[] =
    "{\"kty\":\"EC\""
    ",\"crv\":\"P-256\""
    ",\"x\":\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\""
    ",\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\""
    ",\"d\":\"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo\"}";

/* RFC 7518 App. C: Alice's ephemeral public key as carried in "epk" */
static const char kat_rfc7518_c_alice_epk_pub_jwk[] =
    "{\"kty\":\"EC\""
    ",\"crv\":\"P-256\""
    ",\"x\":\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\""
    ",\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\"}";

/* RFC 7518 App. C: Bob's (consumer's) key, incl. private part */
static const char kat_rfc7518_c_bob_jwk[] =
    "{\"kty\":\"EC\""
    ",\"crv\":\"P-256\""
    ",\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ\""
    ",\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\""
    ",\"d\":\"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw\"}";

/* RFC 7518 App. C: Header Parameter values */
static const char kat_rfc7518_c_alg[] = "ECDH-ES";
static const char kat_rfc7518_c_enc[] = "A128GCM";
/* base64url(UTF-8 "Alice") */
static const char kat_rfc7518_c_apu[] = "QWxpY2U";
/* base64url(UTF-8 "Bob") */
static const char kat_rfc7518_c_apv[] = "Qm9i";

/* RFC 7518 App. C: the JOSE Header shown in the example (compacted) */
static const char kat_rfc7518_c_header[] =
    "{\"alg\":\"ECDH-ES\""
    ",\"enc\":\"A128GCM\""
    ",\"apu\":\"QWxpY2U\""
    ",\"apv\":\"Qm9i\""
    ",\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"gI0GAILBdu7T53akrFmMyG"
    "csF3n5dO7MmwNBHKW5SV0\",\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQ"
    "qeUD7nMFpps\"}}";

/* RFC 7518 App. C: Z, the ECDH-ES key agreement output (32 octets) */
static const unsigned char kat_rfc7518_c_z[32] = {
    0x9e, 0x56, 0xd9, 0x1d, 0x81, 0x71, 0x35, 0xd3, 0x72, 0x83, 0x42, 0x83,
    0xbf, 0x84, 0x26, 0x9c, 0xfb, 0x31, 0x6e, 0xa3, 0xda, 0x80, 0x6a, 0x48,
    0xf6, 0xda, 0xa7, 0x79, 0x8c, 0xfe, 0x90, 0xc4
};
/* same Z as a lowercase hex string */
static const char kat_rfc7518_c_z_hex[] =
    "9e56d91d817135d372834283bf84269cfb316ea3da806a48f6daa7798cfe90c4";

/* RFC 7518 App. C: Concat KDF OtherInfo = AlgorithmID || PartyUInfo ||
 * PartyVInfo || SuppPubInfo (keydatalen = 128, SuppPrivInfo empty) */
static const unsigned char kat_rfc7518_c_otherinfo[31] = {
    0x00, 0x00, 0x00, 0x07, 0x41, 0x31, 0x32, 0x38, 0x47, 0x43, 0x4d, 0x00,
    0x00, 0x00, 0x05, 0x41, 0x6c, 0x69, 0x63, 0x65, 0x00, 0x00, 0x00, 0x03,
    0x42, 0x6f, 0x62, 0x00, 0x00, 0x00, 0x80
};

/* RFC 7518 App. C: derived key (first 128 bits of round-1 SHA-256) */
static const unsigned char kat_rfc7518_c_derived_key[16] = {
    0x56, 0xaa, 0x8d, 0xea, 0xf8, 0x23, 0x6d, 0x20, 0x5c, 0x22, 0x28, 0xcd,
    0x71, 0xa7, 0x10, 0x1a
};
/* RFC 7518 App. C: base64url of the derived key */
static const char kat_rfc7518_c_derived_key_b64u[] = "VqqN6vgjbSBcIijNcacQGg";

/* ------------------------------------------------------------------ */
/* RFC 7638 Section 3.1: Example JWK Thumbprint Computation             */
/* ------------------------------------------------------------------ */

/* RFC 7638 3.1: example RSA JWK (public key, with "alg" and "kid") */
static const char kat_rfc7638_rsa_jwk[] =
    "{\"kty\":\"RSA\""
    ",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cb"
    "bfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhM"
    "stn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0"
    "_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1"
    "n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksIN"
    "HaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\""
    ",\"e\":\"AQAB\""
    ",\"alg\":\"RS256\""
    ",\"kid\":\"2011-04-29\"}";

/* RFC 7638 3.1: base64url SHA-256 JWK Thumbprint of the key above */
static const char kat_rfc7638_thumbprint_s256[] =
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* ------------------------------------------------------------------ */
/* RFC 7520: Examples of Protecting Content Using JOSE                  */
/* ------------------------------------------------------------------ */

/* RFC 7520 3.1 (Figure 1): Elliptic Curve P-521 Public Key */
static const char kat_rfc7520_p521_pub_jwk[] =
    "{\"kty\":\"EC\""
    ",\"kid\":\"bilbo.baggins@hobbiton.example\""
    ",\"use\":\"sig\""
    ",\"crv\":\"P-521\""
    ",\"x\":\"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9"
    "A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt\""
    ",\"y\":\"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVy"
    "SsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1\"}";

/* RFC 7520 3.2 (Figure 2): Elliptic Curve P-521 Private Key */
static const char kat_rfc7520_p521_priv_jwk[] =
    "{\"kty\":\"EC\""
    ",\"kid\":\"bilbo.baggins@hobbiton.example\""
    ",\"use\":\"sig\""
    ",\"crv\":\"P-521\""
    ",\"x\":\"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9"
    "A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt\""
    ",\"y\":\"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVy"
    "SsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1\""
    ",\"d\":\"AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zb"
    "KipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt\"}";

/* RFC 7520 4 (Figure 7): JWS Payload used by all Section 4 examples,
 * UTF-8; \xe2\x80\x99 is U+2019 RIGHT SINGLE QUOTATION MARK.  Split after
 * each escape so no hex escape can absorb a following character. */
static const char kat_rfc7520_payload[] =
    "It\xe2\x80\x99" "s a dangerous business, Frodo, going out your "
    "door. You step onto the road, and if you don't keep your feet, "
    "there\xe2\x80\x99" "s no knowing where you might be swept off "
    "to.";

/* RFC 7520 4 (Figure 8): the payload above, base64url-encoded */
static const char kat_rfc7520_payload_b64u[] =
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv"
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n"
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91"
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";

/* RFC 7520 4.3.3 (Figure 27): ECDSA (ES512) JWS Compact Serialization,
 * signed with the Section 3.2 key (Figure 2); protected header (Figure 23)
 * is {"alg":"ES512","kid":"bilbo.baggins@hobbiton.example"}.  ECDSA is
 * randomized: verify this, do not expect to reproduce it by signing. */
static const char kat_rfc7520_4_3_es512_jws[] =
    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhh"
    "bXBsZSJ9."
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlv"
    "dXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24n"
    "dCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91"
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4."
    "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9"
    "Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD89"
    "0jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";

/* RFC 7520 5.4.1 (Figure 108): Elliptic Curve P-384 key, incl. private part
 * (recipient key of the ECDH-ES+A128KW example; RFC 7520 Section 3 has no
 * P-384 key) */
static const char kat_rfc7520_p384_priv_jwk[] =
    "{\"kty\":\"EC\""
    ",\"kid\":\"peregrin.took@tuckborough.example\""
    ",\"use\":\"enc\""
    ",\"crv\":\"P-384\""
    ",\"x\":\"YU4rRUzdmVqmRtWOs2OpDE_T5fsNIodcG8G5FWPrTPMyxpzsSOGaQL"
    "pe2FpxBmu2\""
    ",\"y\":\"A8-yxCHxkfBz3hKZfI1jUYMjUhsEveZ9THuwFjH2sCNdtksRJU7D5-"
    "SkgaFL1ETP\""
    ",\"d\":\"iTx2pk7wW-GqJkHcEkFQb2EFyYcO7RugmaW3mRrQVAOUiPommT0Idn"
    "YK2xDlZh-j\"}";

/* RFC 7520 5.5.1 (Figure 120): Elliptic Curve P-256 key (static recipient
 * key of the ECDH-ES + A128CBC-HS256 example), incl. private part */
static const char kat_rfc7520_5_5_p256_jwk[] =
    "{\"kty\":\"EC\""
    ",\"kid\":\"meriadoc.brandybuck@buckland.example\""
    ",\"use\":\"enc\""
    ",\"crv\":\"P-256\""
    ",\"x\":\"Ze2loSV3wrroKUN_4zhwGhCqo3Xhu1td4QjeQ5wIVR0\""
    ",\"y\":\"HlLtdXARY_f55A3fnzQbPcm6hgr34Mp8p-nuzQCE0Zw\""
    ",\"d\":\"r_kHyZ-a06rmxM3yESK84r1otSg-aQcVStkRhA-iCM8\"}";

/* RFC 7520 5.5.3 (Figure 122): ephemeral P-256 private key */
static const char kat_rfc7520_5_5_epk_jwk[] =
    "{\"kty\":\"EC\""
    ",\"crv\":\"P-256\""
    ",\"x\":\"mPUKT_bAWGHIhg0TpjjqVsP1rXWQu_vwVOHHtNkdYoA\""
    ",\"y\":\"8BQAsImGeAS46fyWw5MhYfGTT0IjBpFw2SS34Dv4Irs\""
    ",\"d\":\"AtH35vJsQ9SGjYfOsjUxYXQKrPH3FjZHmEtSKoSN8cM\"}";

/* RFC 7520 5.5.3 (Figure 123): agreed-to CEK (ECDH-ES direct, Concat KDF
 * with enc "A128CBC-HS256", keydatalen 256, no apu/apv), base64url */
static const char kat_rfc7520_5_5_cek_b64u[] =
    "hzHdlfQIAEehb8Hrd_mFRhKsKLEzPfshfXs9l6areCc";

/* RFC 7520 5 (Figure 72): JWE Plaintext used by the Section 5 examples,
 * UTF-8; \xe2\x80\x93 is U+2013 EN DASH.  Split after each escape (note
 * "\x93c" would otherwise be read as one hex escape). */
static const char kat_rfc7520_jwe_plaintext[] =
    "You can trust us to stick with you through thick and thin\xe2\x80\x93"
    "to the bitter end. And you can trust us to keep any secret of "
    "yours\xe2\x80\x93"
    "closer than you keep it yourself. But you cannot trust us to let you "
    "face trouble alone, and go off without a word. We are your friends, "
    "Frodo.";

/* RFC 7520 5.5.5 (Figure 128): JWE Compact Serialization (empty
 * Encrypted Key part); decrypts with the Figure 120 key to Figure 72 */
static const char kat_rfc7520_5_5_jwe[] =
    "eyJhbGciOiJFQ0RILUVTIiwia2lkIjoibWVyaWFkb2MuYnJhbmR5YnVja0BidWNr"
    "bGFuZC5leGFtcGxlIiwiZXBrIjp7Imt0eSI6IkVDIiwiY3J2IjoiUC0yNTYiLCJ4"
    "IjoibVBVS1RfYkFXR0hJaGcwVHBqanFWc1AxclhXUXVfdndWT0hIdE5rZFlvQSIs"
    "InkiOiI4QlFBc0ltR2VBUzQ2ZnlXdzVNaFlmR1RUMElqQnBGdzJTUzM0RHY0SXJz"
    "In0sImVuYyI6IkExMjhDQkMtSFMyNTYifQ."
    "."
    "yc9N8v5sYyv3iGQT926IUg."
    "BoDlwPnTypYq-ivjmQvAYJLb5Q6l-F3LIgQomlz87yW4OPKbWE1zSTEFjDfhU9IP"
    "IOSA9Bml4m7iDFwA-1ZXvHteLDtw4R1XRGMEsDIqAYtskTTmzmzNa-_q4F_evAPU"
    "mwlO-ZG45Mnq4uhM1fm_D9rBtWolqZSF3xGNNkpOMQKF1Cl8i8wjzRli7-IXgyir"
    "lKQsbhhqRzkv8IcY6aHl24j03C-AR2le1r7URUhArM79BY8soZU0lzwI-sD5PZ3l"
    "4NDCCei9XkoIAfsXJWmySPoeRb2Ni5UZL4mYpvKDiwmyzGd65KqVw7MsFfI_K767"
    "G9C9Azp73gKZD0DyUn1mn0WW5LmyX_yJ-3AROq8p1WZBfG-ZyJ6195_JGG2m9Csg."
    "WCCkNa-x4BeB9hIDIfFuhg";

#endif /* NBDE_TEST_KAT_VECTORS_H */
