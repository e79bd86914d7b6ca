-- The statements the indexes of migrations 0006 and 0008 are for (psql -f bench/plans.sql, 50k requests).
\pset pager off
\echo '== staff queue filtered by state, newest first (node 4 = ICS)'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT r.id FROM conversion_requests r JOIN strains s ON s.id = r.strain_id
 WHERE r.node_id = 4 AND r.status = 'breeding' ORDER BY r.id DESC LIMIT 26;
\echo '== staff queue, page 20 (offset 475), newest first'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT r.id FROM conversion_requests r JOIN strains s ON s.id = r.strain_id
 WHERE r.node_id = 4 ORDER BY r.id DESC LIMIT 25 OFFSET 475;
\echo '== estimate: latest completed requests at the node with the same number of steps'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT id, plan, use_tat_cre FROM conversion_requests
 WHERE node_id = 4 AND status = 'completed' AND step_count = 1 AND id <> 1 ORDER BY id DESC LIMIT 200;
\echo '== my requests (requester 8), newest first'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT id FROM conversion_requests WHERE requester_id = 8 ORDER BY id DESC LIMIT 26;
\echo '== history of one request, in order'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT * FROM request_events WHERE request_id = 40000 ORDER BY id;
\echo '== dashboard: last event of every request'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT request_id, max(id) FROM request_events GROUP BY request_id;
-- The request list's page ids (migration 0008; conversion/requests/listing.py page_ids), page 1,000 of 25.
\echo '== list, recently changed, page 1000 (offset 24975)'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT id FROM conversion_requests
 ORDER BY updated_at DESC, id DESC LIMIT 25 OFFSET 24975;
\echo '== list, status (status ASC, id DESC), page 1000'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT id FROM conversion_requests
 ORDER BY status ASC, id DESC LIMIT 25 OFFSET 24975;
\echo '== list, gene, page 1000: strains in gene order, each strain''s ids from (strain_id, id)'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT r.id FROM conversion_requests r JOIN strains s ON r.strain_id = s.id
 ORDER BY s.gene ASC, r.id DESC LIMIT 25 OFFSET 24975;
\echo '== staff list (node 4 = ICS), recently changed, page 200: node filtered in the index'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT id FROM conversion_requests WHERE node_id = 4
 ORDER BY updated_at DESC, id DESC LIMIT 25 OFFSET 4975;
\echo '== staff list, gene, page 200'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT r.id FROM conversion_requests r JOIN strains s ON r.strain_id = s.id
 WHERE r.node_id = 4 ORDER BY s.gene ASC, r.id DESC LIMIT 25 OFFSET 4975;
\echo '== search count for "cdk" (strain 1 = Cdk5rap2 matched first): bitmap OR of (strain_id, id) and the trigram indexes'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT count(id) FROM conversion_requests
 WHERE strain_id IN (1) OR lower(reference) LIKE '%cdk%' ESCAPE '\' OR lower(product_symbol) LIKE '%cdk%' ESCAPE '\';
\echo '== search "cdk", page 80, newest first: the matches first (OFFSET 0 fence), then sorted'
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS) SELECT m.id FROM (SELECT id FROM conversion_requests
 WHERE strain_id IN (1) OR lower(reference) LIKE '%cdk%' ESCAPE '\' OR lower(product_symbol) LIKE '%cdk%' ESCAPE '\'
 OFFSET 0) m ORDER BY m.id DESC LIMIT 25 OFFSET 1975;
