package admin

import (
	"bytes"
	"context"
	"image"
	"image/png"

	// Decoders for the accepted upload formats.
	_ "image/jpeg"

	"github.com/gatehouse/gatehouse/internal/audit"
)

// Logo limits: an upload larger than MaxLogoBytes or with a side over
// MaxLogoSide pixels is refused before it is decoded in full.
const (
	MaxLogoBytes = 256 << 10
	MaxLogoSide  = 1024
)

// SetLogo validates an uploaded PNG or JPEG and stores it re-encoded as PNG,
// so whatever the upload carried besides pixels is dropped.
func (s *Service) SetLogo(ctx context.Context, a Actor, id string, upload []byte) error {
	if err := s.guardAppScopes(ctx, a, id, nil); err != nil {
		return err
	}
	if len(upload) == 0 {
		return invalid("admin.logo_empty", "the logo file is empty")
	}
	if len(upload) > MaxLogoBytes {
		return invalid("admin.logo_too_large", "the logo must be at most %d KiB", MaxLogoBytes>>10)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(upload))
	if err != nil || (format != "png" && format != "jpeg") {
		return invalid("admin.logo_format", "the logo must be a PNG or JPEG image")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxLogoSide || cfg.Height > MaxLogoSide {
		return invalid("admin.logo_dimensions", "the logo must be at most %d×%d pixels", MaxLogoSide, MaxLogoSide)
	}
	img, _, err := image.Decode(bytes.NewReader(upload))
	if err != nil {
		return invalid("admin.logo_damaged", "the logo image is damaged")
	}
	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		return err
	}
	ctx, event := s.pending(ctx, a, audit.ClientLogo, id, "", "logo set")
	if err := s.store.SetClientLogo(ctx, id, out.Bytes(), "image/png"); err != nil {
		return err
	}
	s.audit.Settle(ctx, event)
	return nil
}

// RemoveLogo deletes an application's logo.
func (s *Service) RemoveLogo(ctx context.Context, a Actor, id string) error {
	if err := s.guardAppScopes(ctx, a, id, nil); err != nil {
		return err
	}
	ctx, event := s.pending(ctx, a, audit.ClientLogo, id, "", "logo removed")
	if err := s.store.SetClientLogo(ctx, id, nil, ""); err != nil {
		return err
	}
	s.audit.Settle(ctx, event)
	return nil
}

// Logo returns an application's logo; store.ErrNotFound when it has none.
func (s *Service) Logo(ctx context.Context, id string) ([]byte, string, error) {
	return s.store.ClientLogo(ctx, id)
}
