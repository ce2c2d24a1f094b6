package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/userd/userd/service"
)

// webhookRoutes registers the administration of webhook endpoints.
func (s *Server) webhookRoutes() {
	s.handle("GET /api/v1/admin/webhooks", s.may(service.PermManageWebhooks, get(s.listWebhooks)))
	s.handle("POST /api/v1/admin/webhooks", s.may(service.PermManageWebhooks, body(http.StatusCreated, s.addWebhook)))
	s.handle("GET /api/v1/admin/webhooks/{id}", s.may(service.PermManageWebhooks, get(s.getWebhook)))
	s.handle("DELETE /api/v1/admin/webhooks/{id}", s.may(service.PermManageWebhooks, act(http.StatusNoContent, s.removeWebhook)))
	s.handle("POST /api/v1/admin/webhooks/{id}/rotate-secret", s.may(service.PermManageWebhooks, act(http.StatusOK, s.rotateWebhookSecret)))
	s.handle("GET /api/v1/admin/webhooks/{id}/deliveries", s.may(service.PermManageWebhooks, list(s.listWebhookDeliveries)))
	s.handle("POST /api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/replay", s.may(service.PermManageWebhooks, act(http.StatusAccepted, s.replayWebhookDelivery)))
}

// webhookView is an endpoint.
type webhookView struct {
	ID                  int64      `json:"id"`
	URL                 string     `json:"url"`
	Events              []string   `json:"events"`
	CreatedAt           time.Time  `json:"created_at"`
	DisabledAt          *time.Time `json:"disabled_at"`
	DisabledReason      *string    `json:"disabled_reason"`
	PreviousSecretUntil *time.Time `json:"previous_secret_until"`
}

// webhookSecretView is an endpoint with its secret, in the answers that
// make one (shown once).
type webhookSecretView struct {
	webhookView
	Secret string `json:"secret"`
}

func viewWebhook(e service.WebhookEndpoint) webhookView {
	return webhookView{ID: e.ID, URL: e.URL, Events: e.Events, CreatedAt: e.CreatedAt, DisabledAt: e.DisabledAt, DisabledReason: e.DisabledReason, PreviousSecretUntil: e.RotatingUntil}
}

type webhookListView struct {
	Items []webhookView `json:"items"`
}

func (s *Server) listWebhooks(q req) (webhookListView, error) {
	caller := q.caller()
	eps, err := s.webhooks.Endpoints(q.Context(), caller)
	if err != nil {
		return webhookListView{}, err
	}
	out := webhookListView{Items: make([]webhookView, len(eps))}
	for i, e := range eps {
		out.Items[i] = viewWebhook(e)
	}
	return out, nil
}

type webhookBody struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func (s *Server) addWebhook(q req, b webhookBody) (webhookSecretView, error) {
	caller := q.caller()
	e, secret, err := s.webhooks.AddEndpoint(q.Context(), caller, b.URL, b.Events)
	return webhookSecretView{viewWebhook(e), secret}, err
}

func (s *Server) getWebhook(q req) (webhookView, error) {
	caller := q.caller()
	return then(viewWebhook)(s.webhooks.Endpoint(q.Context(), caller, q.id))
}

func (s *Server) removeWebhook(q req) (none, error) {
	caller := q.caller()
	return done(s.webhooks.RemoveEndpoint(q.Context(), caller, q.id))
}

func (s *Server) rotateWebhookSecret(q req) (webhookSecretView, error) {
	caller := q.caller()
	e, secret, err := s.webhooks.RotateSecret(q.Context(), caller, q.id)
	return webhookSecretView{viewWebhook(e), secret}, err
}

// webhookDeliveryView is one entry of an endpoint's delivery log.
type webhookDeliveryView struct {
	ID            int64      `json:"id"`
	MessageID     string     `json:"webhook_id"`
	Type          string     `json:"type"`
	Attempts      int32      `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	LastStatus    *int32     `json:"last_status"`
	LastError     *string    `json:"last_error"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	FailedAt      *time.Time `json:"failed_at"`
}

func (s *Server) listWebhookDeliveries(q req, page service.PageRequest) (pageView[webhookDeliveryView], error) {
	caller := q.caller()
	return then(func(p service.Page[service.WebhookDelivery]) pageView[webhookDeliveryView] {
		return viewPage(p, func(d service.WebhookDelivery) webhookDeliveryView {
			return webhookDeliveryView{
				ID: d.ID, MessageID: d.MessageID, Type: d.Type, Attempts: d.Attempts, CreatedAt: d.CreatedAt,
				LastAttemptAt: d.LastAttemptAt, LastStatus: d.LastStatus, LastError: d.LastError, DeliveredAt: d.DeliveredAt, FailedAt: d.FailedAt,
			}
		})
	})(s.webhooks.Deliveries(q.Context(), caller, q.id, page))
}

type replayView struct {
	DeliveryID int64 `json:"delivery_id"`
}

func (s *Server) replayWebhookDelivery(q req) (replayView, error) {
	deliveryID, err := pathInt64(q.Request, "delivery_id")
	if err != nil {
		return replayView{}, err
	}
	caller := q.caller()
	id, err := s.webhooks.Replay(q.Context(), caller, q.id, deliveryID)
	return replayView{DeliveryID: id}, err
}

var (
	webhookAttempts = prometheus.NewDesc("userd_webhook_delivery_attempts_total", "Webhook delivery attempts by this instance, by outcome: delivered, retry (failed, tried again later), failed (retries spent: the endpoint is disabled), refused (a private address, not allowed).", []string{"outcome"}, nil)
	webhookPending  = prometheus.NewDesc("userd_webhook_queue_depth", "Webhook deliveries not yet made (all instances).", nil, nil)
	webhookOldest   = prometheus.NewDesc("userd_webhook_oldest_undelivered_seconds", "Age of the oldest webhook delivery not yet made; 0 when none waits.", nil, nil)
)

// webhookCollector reports webhook delivery at scrape time: this
// instance's attempts, and the shared queue read from the database.
type webhookCollector struct{ w *service.Webhooks }

func (webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- webhookAttempts
	ch <- webhookPending
	ch <- webhookOldest
}

func (c webhookCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st := c.w.Stats(ctx)
	for i, name := range service.WebhookOutcomes {
		ch <- prometheus.MustNewConstMetric(webhookAttempts, prometheus.CounterValue, float64(st.Attempts[i]), name)
	}
	if st.QueueReadErr != nil {
		ch <- prometheus.NewInvalidMetric(webhookPending, st.QueueReadErr)
		return
	}
	ch <- prometheus.MustNewConstMetric(webhookPending, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(webhookOldest, prometheus.GaugeValue, st.OldestAge.Seconds())
}
