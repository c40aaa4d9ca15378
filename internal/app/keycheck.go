package app

import "context"

// secretContext binds a sealed client secret to its application.
func secretContext(id string) string { return "client-secret:" + id }

// CheckKey opens the sealed secret of one confidential application, if there
// is any, with this node's key. Every secret is sealed under the same key, so
// one tells: secret.ErrKeyMismatch when it does not open.
func (s *Service) CheckKey(ctx context.Context) error {
	clients, err := s.store.ListClients(ctx)
	if err != nil {
		return err
	}
	for _, c := range clients {
		if len(c.SecretSealed) > 0 {
			_, err := s.keys.Open(c.SecretSealed, secretContext(c.ID))
			return err
		}
	}
	return nil
}
