package board

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// TPMDevice is the kernel's resource-managed TPM 2.0 character device: several clients may
// use it at once and the kernel flushes what a client leaves loaded.
const TPMDevice = "/dev/tpmrm0"

// tpmNetPrefix marks a TPMConfig.Device that is a TCP address of a software TPM (swtpm
// socket --server type=tcp), for development and tests: its state is a file, so it protects
// nothing.
const tpmNetPrefix = "tcp:"

// Limits of the TPM command stream. A TPM 2.0 response is at most its
// TPM_PT_MAX_RESPONSE_SIZE, 4096 bytes on the PC Client profile; 64 KiB leaves room for any
// TPM and still refuses a garbage length.
const (
	tpmHeaderSize      = 10 // tag (2), size (4), response code (4)
	tpmMaxResponseSize = 64 << 10
	// tpmNetTimeout bounds one command to a software TPM. Creating an ECC primary key is the
	// slowest command geogate sends (milliseconds on swtpm, under a second on discrete TPMs).
	tpmNetTimeout = 10 * time.Second
)

// openTPM connects to the TPM: a device node, or with the "tcp:" prefix a software TPM's
// command port. It is a variable so tests can make the TPM vanish.
var openTPM = func(dev string) (transport.TPMCloser, error) {
	if addr, ok := strings.CutPrefix(dev, tpmNetPrefix); ok {
		c, err := net.DialTimeout("tcp", addr, tpmNetTimeout)
		if err != nil {
			return nil, &DeviceError{Part: "tpm", Op: "connect", Path: dev, Err: fmt.Errorf("%w: %w", ErrAbsent, err),
				Hint: "is swtpm running? see docs/OPERATIONS.md"}
		}
		return &netTPM{c: c}, nil
	}
	t, err := linuxtpm.Open(dev)
	if err != nil {
		if errors.Is(err, linuxtpm.ErrFileIsNotDevice) {
			return nil, &DeviceError{Part: "tpm", Op: "open", Path: dev, Err: err, Hint: "not a TPM device node"}
		}
		return nil, deviceError("tpm", "open", dev, err, "another process holds the TPM; use the resource manager /dev/tpmrm0")
	}
	return t, nil
}

// netTPM is the plain TPM 2.0 command stream over TCP, as swtpm serves it on its server port
// (unlike the Microsoft simulator's framed protocol): a command out, a response back.
type netTPM struct {
	c net.Conn
}

// Send implements transport.TPM.
func (n *netTPM) Send(cmd []byte) ([]byte, error) {
	n.c.SetDeadline(time.Now().Add(tpmNetTimeout))
	if _, err := n.c.Write(cmd); err != nil {
		return nil, fmt.Errorf("board: tpm: send: %w", err)
	}
	var hdr [tpmHeaderSize]byte
	if _, err := io.ReadFull(n.c, hdr[:]); err != nil {
		return nil, fmt.Errorf("board: tpm: read response: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < tpmHeaderSize || size > tpmMaxResponseSize {
		return nil, fmt.Errorf("board: tpm: response size %d: %w", size, ErrTPM)
	}
	rsp := make([]byte, size)
	copy(rsp, hdr[:])
	if _, err := io.ReadFull(n.c, rsp[tpmHeaderSize:]); err != nil {
		return nil, fmt.Errorf("board: tpm: read response: %w", err)
	}
	return rsp, nil
}

// Close implements transport.TPMCloser.
func (n *netTPM) Close() error { return n.c.Close() }

// srkTemplate is the primary key geogate seals under: the TCG reference ECC P-256 storage
// root key of the owner (storage) hierarchy. It is derived again from the hierarchy's seed
// at every unseal, never stored: the same TPM always derives the same key, another TPM (or
// this one after TPM2_Clear) a different one, under which a copied blob does not load.
// ECC rather than RSA because a TPM derives an RSA primary key by prime search, seconds on
// a discrete TPM, which would delay READY.
var srkTemplate = tpm2.ECCSRKTemplate

// sealedKey is a device key sealed to a TPM: the public and private areas TPM2_Create
// returned (the private one encrypted under the storage root key), and, when the key is
// bound to PCRs, the name of the policy authority's key.
type sealedKey struct {
	public, private []byte
	authority       []byte // TPM2B_NAME of the policy signing key; nil: no PCR binding
}

// withTPM opens the TPM, creates the storage root key, runs fn and cleans up, so nothing
// stays loaded and a TPM that went away and came back is simply opened again.
func withTPM(dev string, fn func(t transport.TPM, srk *tpm2.CreatePrimaryResponse, srkPub *tpm2.TPMTPublic) error) error {
	t, err := openTPM(dev)
	if err != nil {
		return err
	}
	defer t.Close()
	srk, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(srkTemplate),
	}.Execute(t)
	if err != nil {
		return fmt.Errorf("board: tpm: create storage root key (is the owner hierarchy's password empty?): %w: %w", ErrTPM, err)
	}
	defer tpm2.FlushContext{FlushHandle: srk.ObjectHandle}.Execute(t)
	srkPub, err := srk.OutPublic.Contents()
	if err != nil {
		return fmt.Errorf("board: tpm: storage root key: %w: %w", ErrTPM, err)
	}
	return fn(t, srk, srkPub)
}

// encryptSession starts a session that encrypts the command's or the response's first
// parameter (the key going in to TPM2_Create, coming out of TPM2_Unseal) with a secret
// salted to the storage root key, so the key never crosses the bus to the TPM in clear. It
// is an HMAC session with the empty auth value, or with policy a policy session. The
// caller defers close: a session a failed command leaves behind would otherwise fill the
// TPM's few session slots (nothing flushes it on a TPM without resource manager).
func encryptSession(t transport.TPM, policy bool, dir tpm2.AuthOption, srk *tpm2.CreatePrimaryResponse, srkPub *tpm2.TPMTPublic) (tpm2.Session, func() error, error) {
	opts := []tpm2.AuthOption{dir, tpm2.Salted(srk.ObjectHandle, *srkPub)}
	var (
		s     tpm2.Session
		close func() error
		err   error
	)
	if policy {
		s, close, err = tpm2.PolicySession(t, tpm2.TPMAlgSHA256, 16, opts...)
	} else {
		s, close, err = tpm2.HMACSession(t, tpm2.TPMAlgSHA256, 16, opts...)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("board: tpm: start session: %w: %w", ErrTPM, err)
	}
	return s, close, nil
}

// seal seals key to the TPM at dev. With authority (a TPM2B_NAME from policyAuthority) the
// sealed object can only be unsealed through TPM2_PolicyAuthorize: by a PCR policy that
// authority signed (SignedPolicy). Without, the TPM unseals it for anyone on this unit.
func seal(dev string, key, authority []byte) (sealedKey, error) {
	pub := tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgKeyedHash,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM:     true, // never duplicated to another TPM
			FixedParent:  true,
			UserWithAuth: authority == nil, // with an authority, only the policy unseals
			NoDA:         true,             // the empty auth value cannot be brute-forced
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash,
			&tpm2.TPMSKeyedHashParms{Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull}}),
	}
	if authority != nil {
		d, err := authorizePolicyDigest(authority)
		if err != nil {
			return sealedKey{}, err
		}
		pub.AuthPolicy = tpm2.TPM2BDigest{Buffer: d}
	}
	var out sealedKey
	err := withTPM(dev, func(t transport.TPM, srk *tpm2.CreatePrimaryResponse, srkPub *tpm2.TPMTPublic) error {
		sess, closeSess, err := encryptSession(t, false, tpm2.AESEncryption(128, tpm2.EncryptIn), srk, srkPub)
		if err != nil {
			return err
		}
		defer closeSess()
		rsp, err := tpm2.Create{
			ParentHandle: tpm2.AuthHandle{Handle: srk.ObjectHandle, Name: srk.Name, Auth: sess},
			InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
				Data: tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: key}),
			}},
			InPublic: tpm2.New2B(pub),
		}.Execute(t)
		if err != nil {
			return fmt.Errorf("board: tpm: seal: %w: %w", ErrTPM, err)
		}
		out.public = bytes.Clone(rsp.OutPublic.Bytes())
		out.private = bytes.Clone(rsp.OutPrivate.Buffer)
		return nil
	})
	out.authority = authority
	return out, err
}

// unseal returns the key sealed in s, trying the signed PCR policies in order when s is
// bound to PCRs. The caller owns and clears the returned slice.
func unseal(dev string, s sealedKey, policies []*SignedPolicy) ([]byte, error) {
	var key []byte
	err := withTPM(dev, func(t transport.TPM, srk *tpm2.CreatePrimaryResponse, srkPub *tpm2.TPMTPublic) error {
		var err error
		key, err = unsealIn(t, srk, srkPub, s, policies)
		return err
	})
	return key, err
}

// unsealIn is unseal on an open TPM under its storage root key (withTPM), so a keyring's
// keys share one connection and one derivation of the root key.
func unsealIn(t transport.TPM, srk *tpm2.CreatePrimaryResponse, srkPub *tpm2.TPMTPublic, s sealedKey, policies []*SignedPolicy) ([]byte, error) {
	var key []byte
	err := func() error {
		pub := tpm2.BytesAs2B[tpm2.TPMTPublic](s.public)
		loaded, err := tpm2.Load{
			ParentHandle: tpm2.NamedHandle{Handle: srk.ObjectHandle, Name: srk.Name},
			InPrivate:    tpm2.TPM2BPrivate{Buffer: s.private},
			InPublic:     pub,
		}.Execute(t)
		if err != nil {
			if isTPMRC(err, tpm2.TPMRCIntegrity) || isTPMRC(err, tpm2.TPMRCValue) || isTPMRC(err, tpm2.TPMRCSize) {
				// The storage root key differs: another TPM, or this one cleared.
				return fmt.Errorf("board: tpm: the sealed key does not load (%w): %w: it was sealed by another TPM, or this TPM was cleared", err, ErrSealedElsewhere)
			}
			return fmt.Errorf("board: tpm: load sealed key: %w: %w", ErrTPM, err)
		}
		defer tpm2.FlushContext{FlushHandle: loaded.ObjectHandle}.Execute(t)
		item := tpm2.AuthHandle{Handle: loaded.ObjectHandle, Name: loaded.Name}
		if s.authority == nil {
			sess, closeSess, err := encryptSession(t, false, tpm2.AESEncryption(128, tpm2.EncryptOut), srk, srkPub)
			if err != nil {
				return err
			}
			defer closeSess()
			item.Auth = sess
			rsp, err := tpm2.Unseal{ItemHandle: item}.Execute(t)
			if err != nil {
				return fmt.Errorf("board: tpm: unseal: %w: %w", ErrTPM, err)
			}
			key = takeKey(&rsp.OutData)
			return nil
		}
		var errs []error
		for _, p := range policies {
			if !bytes.Equal(p.authorityName(), s.authority) {
				errs = append(errs, fmt.Errorf("%s: signed by another authority", p))
				continue
			}
			k, err := unsealPolicy(t, item, p, srk, srkPub)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
				continue
			}
			key = k
			return nil
		}
		if len(policies) == 0 {
			errs = append(errs, errors.New("no signed PCR policy configured (storage.tpm_policies)"))
		}
		return fmt.Errorf("board: tpm: %w: %w", ErrPolicy, errors.Join(errs...))
	}()
	if err != nil {
		return nil, err
	}
	if len(key) != KeySize {
		clear(key)
		return nil, fmt.Errorf("board: tpm: sealed key has %d bytes, want %d: %w", len(key), KeySize, ErrKeyFormat)
	}
	return key, nil
}

// unsealPolicy unseals item in a policy session that p satisfies.
func unsealPolicy(t transport.TPM, item tpm2.AuthHandle, p *SignedPolicy, srk *tpm2.CreatePrimaryResponse, srkPub *tpm2.TPMTPublic) ([]byte, error) {
	sess, closeSess, err := encryptSession(t, true, tpm2.AESEncryption(128, tpm2.EncryptOut), srk, srkPub)
	if err != nil {
		return nil, err
	}
	defer closeSess()
	if err := p.run(t, tpm2.TPMISHPolicy(sess.Handle()), tpm2.TPM2BNonce{}); err != nil {
		return nil, err
	}
	item.Auth = sess
	rsp, err := tpm2.Unseal{ItemHandle: item}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("unseal: %w", err)
	}
	return takeKey(&rsp.OutData), nil
}

// takeKey copies the unsealed bytes out of the response and clears the response's buffer.
func takeKey(d *tpm2.TPM2BSensitiveData) []byte {
	k := bytes.Clone(d.Buffer)
	clear(d.Buffer)
	return k
}

// isTPMRC reports whether err is the TPM response code rc (of any parameter or handle).
func isTPMRC(err error, rc tpm2.TPMRC) bool { return errors.Is(err, rc) }

// authorizePolicyDigest is the policy digest of TPM2_PolicyAuthorize by the key named
// authority with an empty policyRef: what a sealed key bound to signed PCR policies needs.
func authorizePolicyDigest(authority []byte) ([]byte, error) {
	calc, err := tpm2.NewPolicyCalculator(tpm2.TPMAlgSHA256)
	if err != nil {
		return nil, fmt.Errorf("board: tpm: policy: %w", err)
	}
	err = tpm2.PolicyAuthorize{KeySign: tpm2.TPM2BName{Buffer: authority}, PolicyRef: tpm2.TPM2BDigest{}}.Update(calc)
	if err != nil {
		return nil, fmt.Errorf("board: tpm: policy: %w", err)
	}
	return calc.Hash().Digest, nil
}

// pcrDigest is the SHA-256 of the concatenated PCR values, in selection order: what
// TPM2_PolicyPCR compares with the TPM's current values.
func pcrDigest(values [][]byte) []byte {
	h := sha256.New()
	for _, v := range values {
		h.Write(v)
	}
	return h.Sum(nil)
}
