-- The schema the recorded cases ran against, written for this project from what the recording suite's setup does
-- (Dreamescaper/dsql-emulator, internal/conformance/suite.go at 0b4d5fab). One statement per line; the replay test
-- (tests/dsql_recordings.rs) runs them in order after dropping every object whose name starts with baseline.
CREATE TABLE baseline_parent (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
CREATE TABLE baseline_child (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), parent_id uuid NOT NULL REFERENCES baseline_parent (id));
CREATE TABLE baseline_idx (id uuid PRIMARY KEY, value text);
CREATE TABLE baseline_bulk (id int);
CREATE TABLE baseline_drop_me (id int);
CREATE TABLE baseline_alter (id int PRIMARY KEY, a text, b int);
CREATE TABLE baseline_alter_pk (id int PRIMARY KEY, a text);
CREATE TABLE baseline_alter_big (big bigint, note text);
CREATE TABLE baseline_alter_fk (id int PRIMARY KEY, parent_id uuid);
CREATE TABLE baseline_alter_pkadd (id int, v text);
CREATE TABLE baseline_lat_parent (id text NOT NULL PRIMARY KEY);
CREATE TABLE baseline_lat_child (id bigint NOT NULL PRIMARY KEY, parent_id text);
INSERT INTO baseline_lat_parent (id) VALUES ('a');
INSERT INTO baseline_lat_child (id, parent_id) VALUES (1, 'a');
CREATE TABLE baseline_implicit_bulk (id int);
CREATE TABLE baseline_multi (id int PRIMARY KEY, a int);
CREATE TABLE baseline_fk_action (id uuid PRIMARY KEY, name text NOT NULL);
INSERT INTO baseline_fk_action (id, name) VALUES ('00000000-0000-0000-0000-0000000000c1', 'cascade'), ('00000000-0000-0000-0000-0000000000c2', 'set-null'), ('00000000-0000-0000-0000-0000000000c3', 'set-default'), ('00000000-0000-0000-0000-0000000000c4', 'default-target');
CREATE TABLE baseline_fk_cascade (id uuid PRIMARY KEY, parent_id uuid REFERENCES baseline_fk_action (id) ON DELETE CASCADE, note text);
CREATE TABLE baseline_fk_setnull (id uuid PRIMARY KEY, parent_id uuid REFERENCES baseline_fk_action (id) ON DELETE SET NULL, note text);
CREATE TABLE baseline_fk_setdefault (id uuid PRIMARY KEY, parent_id uuid DEFAULT '00000000-0000-0000-0000-0000000000c4' REFERENCES baseline_fk_action (id) ON DELETE SET DEFAULT, note text);
INSERT INTO baseline_fk_cascade (id, parent_id, note) VALUES ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-0000000000c1', 'child');
INSERT INTO baseline_fk_setnull (id, parent_id, note) VALUES ('00000000-0000-0000-0000-0000000000d2', '00000000-0000-0000-0000-0000000000c2', 'child');
INSERT INTO baseline_fk_setdefault (id, parent_id, note) VALUES ('00000000-0000-0000-0000-0000000000d3', '00000000-0000-0000-0000-0000000000c3', 'child');
CREATE TABLE baseline_span (id int PRIMARY KEY, k int NOT NULL, v text);
INSERT INTO baseline_span (id, k, v) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 1, 'c'), (4, 2, 'other');
INSERT INTO baseline_parent (id, name) VALUES ('00000000-0000-0000-0000-0000000000aa', 'seed');
CREATE TABLE baseline_conflict (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE baseline_conflict_child (id uuid PRIMARY KEY, parent_id uuid NOT NULL REFERENCES baseline_conflict (id));
INSERT INTO baseline_conflict (id, name) VALUES ('00000000-0000-0000-0000-0000000000ab', 'conflict-fk'), ('00000000-0000-0000-0000-0000000000ac', 'conflict-row'), ('00000000-0000-0000-0000-0000000000ad', 'disjoint-a'), ('00000000-0000-0000-0000-0000000000ae', 'disjoint-b'), ('00000000-0000-0000-0000-0000000000af', 'conflict-nonkey');
