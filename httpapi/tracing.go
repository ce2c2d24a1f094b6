package httpapi

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traced wraps h in otelhttp: a server span per request, child of the
// span an incoming W3C traceparent names. The span starts named by the
// method alone; nameSpan renames it by the route pattern once the route
// is known. otelhttp's own metrics go nowhere: /metrics has them.
func traced(h http.Handler, tp trace.TracerProvider) http.Handler {
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// nameSpan names the request's span by its route pattern ("GET
// /api/v1/users/me", also its http.route) and returns its trace id for
// the access log; an unmatched request's span keeps the method alone.
func nameSpan(r *http.Request, pattern string) string {
	span := trace.SpanFromContext(r.Context())
	if pattern != "" {
		span.SetName(pattern)
		span.SetAttributes(attribute.String("http.route", pattern))
	}
	return span.SpanContext().TraceID().String()
}
