package gateway

import "context"

// ingestBatches ingests batches as the ingest command does: through a
// Pipeline, each batch parsed while the one before it is written.
func ingestBatches(g *Gateway, batches [][]Item) error {
	p := g.Pipeline(context.Background())
	for _, b := range batches {
		if _, err := p.Add(b); err != nil {
			return err
		}
	}
	_, err := p.Flush()
	return err
}
