package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/exaring/otelpgx"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/userd/userd/config"
)

// tracing is OpenTelemetry tracing as configured: off (a nil provider)
// unless OTEL_EXPORTER_OTLP_ENDPOINT is set, and then spans for each
// request and each of its queries, exported over OTLP/HTTP.
type tracing struct {
	provider *sdktrace.TracerProvider // nil: off
}

// startTracing starts the exporter when cfg.Tracing is on. The exporter
// reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers,
// timeout, certificates, compression) and OTEL_SERVICE_NAME /
// OTEL_RESOURCE_ATTRIBUTES; nothing is sent until a span ends.
func startTracing(ctx context.Context, cfg config.Config) (*tracing, error) {
	if !cfg.Tracing {
		return &tracing{}, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("userd"), semconv.ServiceVersion(readBuildInfo().version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return &tracing{provider: sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(requestsOnly{})),
	)}, nil
}

// tracerProvider is the provider for httpapi.Deps: nil when off.
func (t *tracing) tracerProvider() trace.TracerProvider {
	if t.provider == nil {
		return nil
	}
	return t.provider
}

// queryTracer traces each query as a child of the request's span, named
// by its sqlc query name ("-- name: UserGetByID :one" gives UserGetByID),
// without its arguments. nil when off: pgx then calls no tracer at all.
func (t *tracing) queryTracer() pgTracer {
	if t.provider == nil {
		return nil
	}
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(t.provider),
		otelpgx.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelpgx.WithSpanNameCtxFunc(querySpanName))
}

// querySpanName is the sqlc name of stmt, or its first word ("SELECT").
func querySpanName(ctx context.Context, stmt string) string {
	if rest, ok := strings.CutPrefix(stmt, "-- name: "); ok {
		if name, _, ok := strings.Cut(rest, " "); ok && name != "" {
			return name
		}
	}
	return otelpgx.SQLOperationName(ctx, stmt)
}

// shutdown exports the spans still queued.
func (t *tracing) shutdown(ctx context.Context) error {
	if t.provider == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// requestsOnly samples the root spans of requests (kind server) and drops
// other roots: the queries the outbox and the counter folder run between
// requests would otherwise be a trace each, every second.
type requestsOnly struct{}

func (requestsOnly) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if p.Kind != trace.SpanKindServer {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
	}
	return sdktrace.AlwaysSample().ShouldSample(p)
}

func (requestsOnly) Description() string { return "RequestsOnly" }
