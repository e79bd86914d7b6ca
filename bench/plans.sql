-- The statements the indexes of migration 0006 are for (psql -f bench/plans.sql, 50k requests).
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
