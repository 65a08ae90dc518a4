-- People: two customers, two mechanics (passwords hashed as Supabase would; never imported).
INSERT INTO auth.users (id, email, encrypted_password, raw_user_meta_data) VALUES
  ('a1000000-0000-4000-8000-000000000001', 'Alice.Driver@example.com', '$2a$10$abcdefghijklmnopqrstuv', '{"full_name": "Alice Driver"}'),
  ('a1000000-0000-4000-8000-000000000002', 'bob@example.com', '$2a$10$abcdefghijklmnopqrstuv', '{}'),
  ('b2000000-0000-4000-8000-000000000001', 'marco@garage.example', '$2a$10$abcdefghijklmnopqrstuv', '{"full_name": "Marco Mechanic"}'),
  ('b2000000-0000-4000-8000-000000000002', 'priya@garage.example', '$2a$10$abcdefghijklmnopqrstuv', '{"name": "Priya"}');

INSERT INTO sessions (id, created_at, updated_at, type, plan, status, stripe_session_id, metadata) VALUES
  -- a finished quick chat
  ('5e000000-0000-4000-8000-000000000001', '2025-10-19 10:00:00+00', '2025-10-19 10:12:00+00', 'chat', 'chat10', 'completed', 'cs_test_1', '{"intake_id": "i-1", "customer_email": "alice.driver@example.com"}'),
  -- a paid video call nobody joined yet
  ('5e000000-0000-4000-8000-000000000002', '2025-10-20 09:00:00+00', NULL, 'video', 'video15', 'pending', 'cs_test_2', '{}'),
  -- a live diagnostic
  ('5e000000-0000-4000-8000-000000000003', '2025-10-21 14:00:00+00', NULL, 'diagnostic', 'diagnostic', 'live', 'cs_test_3', '{}'),
  -- a status the importer does not know: reported, not guessed
  ('5e000000-0000-4000-8000-000000000004', '2025-10-22 08:00:00+00', NULL, 'chat', 'chat10', 'on_hold', 'cs_test_4', '{}'),
  -- nobody in it (the webhook failed half-way): no customer to give it to
  ('5e000000-0000-4000-8000-000000000005', '2025-10-23 08:00:00+00', NULL, 'chat', 'chat10', 'completed', 'cs_test_5', '{}');

INSERT INTO session_participants (session_id, user_id, role, created_at) VALUES
  ('5e000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', 'customer', '2025-10-19 10:00:00+00'),
  ('5e000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000001', 'mechanic', '2025-10-19 10:02:00+00'),
  ('5e000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000002', 'customer', '2025-10-20 09:00:00+00'),
  ('5e000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000001', 'customer', '2025-10-21 14:00:00+00'),
  ('5e000000-0000-4000-8000-000000000003', 'b2000000-0000-4000-8000-000000000002', 'mechanic', '2025-10-21 14:01:00+00'),
  ('5e000000-0000-4000-8000-000000000004', 'a1000000-0000-4000-8000-000000000002', 'customer', '2025-10-22 08:00:00+00');

-- Inserted out of time order on purpose: the import numbers them by created_at.
INSERT INTO chat_messages (id, session_id, sender_id, content, created_at) VALUES
  ('c0000000-0000-4000-8000-000000000003', '5e000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', 'It only happens when the engine is cold.', '2025-10-19 10:04:00+00'),
  ('c0000000-0000-4000-8000-000000000001', '5e000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', 'Hi, my car makes a grinding noise when braking.', '2025-10-19 10:01:00+00'),
  ('c0000000-0000-4000-8000-000000000002', '5e000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000001', 'Hello Alice, front or rear wheels?', '2025-10-19 10:03:00+00'),
  ('c0000000-0000-4000-8000-000000000005', '5e000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', 'Thanks, booking it in!', '2025-10-19 10:11:00+00'),
  ('c0000000-0000-4000-8000-000000000004', '5e000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000001', 'Sounds like worn pads; have them replaced this week.', '2025-10-19 10:08:00+00'),
  ('c0000000-0000-4000-8000-000000000006', '5e000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000001', 'Check engine light is on, code P0420.', '2025-10-21 14:02:00+00'),
  ('c0000000-0000-4000-8000-000000000007', '5e000000-0000-4000-8000-000000000003', 'b2000000-0000-4000-8000-000000000002', 'That is the catalytic converter efficiency; let us test the O2 sensors.', '2025-10-21 14:05:00+00'),
  -- empty text: reported
  ('c0000000-0000-4000-8000-000000000008', '5e000000-0000-4000-8000-000000000003', 'b2000000-0000-4000-8000-000000000002', '   ', '2025-10-21 14:06:00+00'),
  -- in the session that is not imported: reported
  ('c0000000-0000-4000-8000-000000000009', '5e000000-0000-4000-8000-000000000004', 'a1000000-0000-4000-8000-000000000002', 'Anyone there?', '2025-10-22 08:01:00+00');
