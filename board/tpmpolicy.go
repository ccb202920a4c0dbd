package board

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// SignedPolicy is a PCR policy approved by the policy authority: the PCRs of the SHA-256
// bank, the digest of the values they must hold, and the authority's ECDSA P-256 signature
// over the resulting policy digest (the aHash of TPM2_PolicyAuthorize). A key sealed for
// the authority unseals under any policy it signed whose PCRs match, so an update that
// changes the measured boot ships a newly signed policy instead of resealing the key.
//
// Its file is JSON: {"version":1,"pcrs":[7],"pcr_digest":"hex","authority":"base64 of the
// PKIX public key","r":"hex","s":"hex"}. It holds no secret.
type SignedPolicy struct {
	// Path is the file the policy was read from ("" when built in memory), for messages.
	Path string `json:"-"`
	// Version is 1.
	Version int `json:"version"`
	// PCRs are the PCR indexes (SHA-256 bank), ascending.
	PCRs []uint `json:"pcrs"`
	// PCRDigest is the SHA-256 of the expected PCR values concatenated in index order.
	PCRDigest hexBytes `json:"pcr_digest"`
	// Authority is the signer's public key, PKIX DER.
	Authority []byte `json:"authority"`
	// R and S are the ECDSA signature, 32 bytes each, big-endian.
	R hexBytes `json:"r"`
	S hexBytes `json:"s"`

	pub *ecdsa.PublicKey
}

// hexBytes marshals as a hex string.
type hexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (h hexBytes) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%x", []byte(h)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *hexBytes) UnmarshalText(b []byte) error {
	out := make([]byte, len(b)/2)
	if len(b)%2 != 0 {
		return errors.New("odd number of hex digits")
	}
	for i := range out {
		hi, ok1 := unhex(b[2*i])
		lo, ok2 := unhex(b[2*i+1])
		if !ok1 || !ok2 {
			return fmt.Errorf("not a hex digit near offset %d", 2*i)
		}
		out[i] = hi<<4 | lo
	}
	*h = out
	return nil
}

// maxPCR is the highest PCR index of a PC Client TPM (24 PCRs).
const maxPCR = 23

// String names the policy for messages: its file and PCRs.
func (p *SignedPolicy) String() string {
	name := p.Path
	if name == "" {
		name = "signed policy"
	}
	return fmt.Sprintf("%s (PCRs %v)", name, p.PCRs)
}

// ReadSignedPolicy reads and checks a signed policy file: form, PCR indexes, the
// authority's key and the signature.
func ReadSignedPolicy(path string) (*SignedPolicy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("board: signed policy: %w", err)
	}
	p, err := ParseSignedPolicy(b)
	if err != nil {
		return nil, fmt.Errorf("board: signed policy %s: %w", path, err)
	}
	p.Path = path
	return p, nil
}

// ParseSignedPolicy parses and checks a signed policy file's content.
func ParseSignedPolicy(b []byte) (*SignedPolicy, error) {
	var p SignedPolicy
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicyFormat, err)
	}
	switch {
	case p.Version != 1:
		return nil, fmt.Errorf("%w: version %d, want 1", ErrPolicyFormat, p.Version)
	case len(p.PCRs) == 0 || !slices.IsSorted(p.PCRs) || slices.Max(p.PCRs) > maxPCR || len(slices.Compact(slices.Clone(p.PCRs))) != len(p.PCRs):
		return nil, fmt.Errorf("%w: pcrs %v: want distinct ascending indexes 0..%d", ErrPolicyFormat, p.PCRs, maxPCR)
	case len(p.PCRDigest) != sha256.Size || len(p.R) != 32 || len(p.S) != 32:
		return nil, fmt.Errorf("%w: pcr_digest, r and s must be 32 bytes each", ErrPolicyFormat)
	}
	pub, err := parseAuthority(p.Authority)
	if err != nil {
		return nil, err
	}
	p.pub = pub
	if !ecdsa.Verify(pub, p.aHash(), new(big.Int).SetBytes(p.R), new(big.Int).SetBytes(p.S)) {
		return nil, fmt.Errorf("%w: the signature does not verify", ErrPolicyFormat)
	}
	return &p, nil
}

// parseAuthority parses a PKIX DER public key that must be ECDSA P-256.
func parseAuthority(der []byte) (*ecdsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: authority key: %w", ErrPolicyFormat, err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: authority key must be ECDSA P-256 (TPMs verify no ed25519)", ErrPolicyFormat)
	}
	return pub, nil
}

// ReadPolicyAuthority reads the authority's public key (PEM "PUBLIC KEY", ECDSA P-256) and
// returns its TPM name, which a key sealed for the authority is bound to.
func ReadPolicyAuthority(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("board: policy authority: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("board: policy authority %s: %w: want a PEM \"PUBLIC KEY\"", path, ErrPolicyFormat)
	}
	pub, err := parseAuthority(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("board: policy authority %s: %w", path, err)
	}
	return authorityName(pub)
}

// NewPolicyAuthority returns a new random authority key pair: the private key as PEM
// "PRIVATE KEY" (PKCS #8; keep it off the unit, with whoever signs releases) and the
// public key as PEM "PUBLIC KEY" (installed on the unit: storage.tpm_policy_authority).
func NewPolicyAuthority() (priv, pub []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("board: policy authority: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("board: policy authority: %w", err)
	}
	pder, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("board: policy authority: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), nil
}

// SignPolicy signs the policy "PCRs pcrs hold values" (SHA-256 bank, values in the order
// of pcrs) with the authority's private key (PEM, as NewPolicyAuthority returns it).
func SignPolicy(privPEM []byte, pcrs []uint, values [][]byte) (*SignedPolicy, error) {
	blk, _ := pem.Decode(privPEM)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("board: sign policy: %w: want a PEM \"PRIVATE KEY\"", ErrPolicyFormat)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("board: sign policy: %w", err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("board: sign policy: %w: want an ECDSA P-256 key", ErrPolicyFormat)
	}
	if len(pcrs) != len(values) {
		return nil, fmt.Errorf("board: sign policy: %d PCRs but %d values", len(pcrs), len(values))
	}
	pder, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("board: sign policy: %w", err)
	}
	p := &SignedPolicy{Version: 1, PCRs: slices.Clone(pcrs), PCRDigest: pcrDigest(values), Authority: pder, pub: &priv.PublicKey}
	r, s, err := ecdsa.Sign(rand.Reader, priv, p.aHash())
	if err != nil {
		return nil, fmt.Errorf("board: sign policy: %w", err)
	}
	p.R, p.S = r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))
	if _, err := ParseSignedPolicy(p.Marshal()); err != nil {
		return nil, fmt.Errorf("BUG: board: a signed policy does not parse: %w", err)
	}
	return p, nil
}

// Marshal returns the policy file's content.
func (p *SignedPolicy) Marshal() []byte {
	b, err := json.Marshal(p)
	if err != nil {
		panic("BUG: board: marshal signed policy: " + err.Error())
	}
	return append(b, '\n')
}

// ReadPCRs reads the SHA-256 values of pcrs from the TPM at dev, for signing a policy that
// matches the unit's current boot.
func ReadPCRs(dev string, pcrs []uint) ([][]byte, error) {
	t, err := openTPM(dev)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	out := make([][]byte, 0, len(pcrs))
	// One PCR per read: a TPM returns at most 8 digests per TPM2_PCR_Read.
	for _, i := range pcrs {
		rsp, err := tpm2.PCRRead{PCRSelectionIn: pcrSelection([]uint{i})}.Execute(t)
		if err != nil {
			return nil, fmt.Errorf("board: tpm: read PCR %d: %w: %w", i, ErrTPM, err)
		}
		if len(rsp.PCRValues.Digests) != 1 {
			return nil, fmt.Errorf("board: tpm: read PCR %d: %w: no SHA-256 bank", i, ErrTPM)
		}
		out = append(out, bytes.Clone(rsp.PCRValues.Digests[0].Buffer))
	}
	return out, nil
}

func pcrSelection(pcrs []uint) tpm2.TPMLPCRSelection {
	return tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{{
		Hash:      tpm2.TPMAlgSHA256,
		PCRSelect: tpm2.PCClientCompatible.PCRs(pcrs...),
	}}}
}

// approved is the policy digest of TPM2_PolicyPCR over p's PCRs and digest, from a fresh
// session: the policy the authority approves.
func (p *SignedPolicy) approved() []byte {
	calc, err := tpm2.NewPolicyCalculator(tpm2.TPMAlgSHA256)
	if err != nil {
		panic("BUG: board: policy calculator: " + err.Error())
	}
	if err := (tpm2.PolicyPCR{PcrDigest: tpm2.TPM2BDigest{Buffer: p.PCRDigest}, Pcrs: pcrSelection(p.PCRs)}).Update(calc); err != nil {
		panic("BUG: board: policy calculator: " + err.Error())
	}
	return calc.Hash().Digest
}

// aHash is what the authority signs: SHA-256(approved policy || policyRef), policyRef empty.
func (p *SignedPolicy) aHash() []byte {
	h := sha256.Sum256(p.approved())
	return h[:]
}

// authorityName returns the TPM name of pub loaded as an external signing key.
func authorityName(pub *ecdsa.PublicKey) ([]byte, error) {
	tp := authorityPublic(pub)
	n, err := tpm2.ObjectName(&tp)
	if err != nil {
		return nil, fmt.Errorf("board: policy authority name: %w", err)
	}
	return n.Buffer, nil
}

func (p *SignedPolicy) authorityName() []byte {
	n, err := authorityName(p.pub)
	if err != nil {
		return nil
	}
	return n
}

// authorityPublic is pub as a TPM public area: an ECDSA-SHA256 P-256 signing key.
func authorityPublic(pub *ecdsa.PublicKey) tpm2.TPMTPublic {
	// The uncompressed point: 0x04, X (32 bytes), Y (32 bytes).
	pt, err := pub.Bytes()
	if err != nil || len(pt) != 65 {
		panic("BUG: board: authority key is not a P-256 point")
	}
	x, y := pt[1:33], pt[33:]
	return tpm2.TPMTPublic{
		Type:             tpm2.TPMAlgECC,
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{SignEncrypt: true, UserWithAuth: true},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Scheme: tpm2.TPMTECCScheme{
				Scheme:  tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256}),
			},
			CurveID: tpm2.TPMECCNistP256,
			KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: x},
			Y: tpm2.TPM2BECCParameter{Buffer: y},
		}),
	}
}

// run is the policy session's callback at unseal: TPM2_PolicyPCR (the TPM compares its PCRs
// with the signed digest), then TPM2_VerifySignature of the authority's signature and
// TPM2_PolicyAuthorize, which turns the PCR policy into the one the key was sealed with.
func (p *SignedPolicy) run(t transport.TPM, h tpm2.TPMISHPolicy, _ tpm2.TPM2BNonce) error {
	if _, err := (tpm2.PolicyPCR{PolicySession: h, PcrDigest: tpm2.TPM2BDigest{Buffer: p.PCRDigest}, Pcrs: pcrSelection(p.PCRs)}).Execute(t); err != nil {
		if isTPMRC(err, tpm2.TPMRCValue) {
			return fmt.Errorf("the PCRs do not hold the values this policy approves (%w)", err)
		}
		return fmt.Errorf("PolicyPCR: %w", err)
	}
	ext, err := tpm2.LoadExternal{InPublic: tpm2.New2B(authorityPublic(p.pub)), Hierarchy: tpm2.TPMRHOwner}.Execute(t)
	if err != nil {
		return fmt.Errorf("load the authority's key: %w", err)
	}
	defer tpm2.FlushContext{FlushHandle: ext.ObjectHandle}.Execute(t)
	ver, err := tpm2.VerifySignature{
		KeyHandle: tpm2.NamedHandle{Handle: ext.ObjectHandle, Name: ext.Name},
		Digest:    tpm2.TPM2BDigest{Buffer: p.aHash()},
		Signature: tpm2.TPMTSignature{
			SigAlg: tpm2.TPMAlgECDSA,
			Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgECDSA, &tpm2.TPMSSignatureECC{
				Hash:       tpm2.TPMAlgSHA256,
				SignatureR: tpm2.TPM2BECCParameter{Buffer: p.R},
				SignatureS: tpm2.TPM2BECCParameter{Buffer: p.S},
			}),
		},
	}.Execute(t)
	if err != nil {
		return fmt.Errorf("the TPM rejects the signature: %w", err)
	}
	_, err = tpm2.PolicyAuthorize{
		PolicySession:  h,
		ApprovedPolicy: tpm2.TPM2BDigest{Buffer: p.approved()},
		KeySign:        ext.Name,
		CheckTicket:    ver.Validation,
	}.Execute(t)
	if err != nil {
		return fmt.Errorf("PolicyAuthorize: %w", err)
	}
	return nil
}
