INSERT INTO agents (id, name, email, status, created_at) VALUES
  ('a9000000-0000-4000-8000-000000000001', 'Sari Agent', 'sari@desk.example', 'available', '2025-01-01 00:00:00+00'),
  ('a9000000-0000-4000-8000-000000000002', 'Tomas Agent', 'tomas@desk.example', 'busy', '2025-01-02 00:00:00+00');

INSERT INTO user_sessions (id, session_id, customer_name, customer_phone, status, channel, is_anonymous, created_at, updated_at) VALUES
  -- Dewi writes twice from the same phone: one customer, two conversations
  ('05000000-0000-4000-8000-000000000001', 'chat_1700000001_ab', 'Dewi', '+62 812-3456-7890', 'closed', 'web-chat', false, '2025-11-01 09:00:00+00', '2025-11-01 09:30:00+00'),
  ('05000000-0000-4000-8000-000000000002', 'chat_1700000002_cd', 'Dewi', '+6281234567890', 'active', 'web-chat', false, '2025-11-03 10:00:00+00', '2025-11-03 10:05:00+00'),
  -- an anonymous visitor, nobody assigned yet
  ('05000000-0000-4000-8000-000000000003', 'chat_1700000003_ef', NULL, NULL, 'active', 'web-chat', true, '2025-11-04 11:00:00+00', '2025-11-04 11:00:00+00'),
  -- a chat with two tickets (Parlour keeps one per conversation)
  ('05000000-0000-4000-8000-000000000004', 'chat_1700000004_gh', 'Rudi', '+62 811 000 111', 'active', 'whatsapp', false, '2025-11-05 12:00:00+00', '2025-11-05 12:00:00+00');

INSERT INTO tickets (id, session_id, subject, channel, status, priority, assigned_agent_id, created_at, updated_at, resolved_at) VALUES
  ('7c000000-0000-4000-8000-000000000001', 'chat_1700000001_ab', 'Order not delivered', 'web-chat', 'resolved', 'high', 'a9000000-0000-4000-8000-000000000001', '2025-11-01 09:00:01+00', '2025-11-01 09:30:00+00', '2025-11-01 09:30:00+00'),
  ('7c000000-0000-4000-8000-000000000002', 'chat_1700000002_cd', 'Refund question', 'web-chat', 'in_progress', 'medium', 'a9000000-0000-4000-8000-000000000002', '2025-11-03 10:00:01+00', '2025-11-03 10:05:00+00', NULL),
  ('7c000000-0000-4000-8000-000000000003', 'chat_1700000003_ef', NULL, 'web-chat', 'open', 'low', NULL, '2025-11-04 11:00:01+00', '2025-11-04 11:00:01+00', NULL),
  ('7c000000-0000-4000-8000-000000000004', 'chat_1700000004_gh', 'Wrong size', 'whatsapp', 'open', 'urgent', 'a9000000-0000-4000-8000-000000000001', '2025-11-05 12:00:01+00', '2025-11-05 12:00:01+00', NULL),
  ('7c000000-0000-4000-8000-000000000005', 'chat_1700000004_gh', 'Wrong size (again)', 'whatsapp', 'open', 'medium', NULL, '2025-11-05 12:10:00+00', '2025-11-05 12:10:00+00', NULL);

INSERT INTO chat_messages (id, session_id, sender_type, sender_id, message, image_url, created_at) VALUES
  ('3a000000-0000-4000-8000-000000000002', 'chat_1700000001_ab', 'system', NULL, 'Sari Agent joined the chat', NULL, '2025-11-01 09:01:00+00'),
  ('3a000000-0000-4000-8000-000000000001', 'chat_1700000001_ab', 'user', NULL, 'My order #5521 never arrived', NULL, '2025-11-01 09:00:00+00'),
  ('3a000000-0000-4000-8000-000000000003', 'chat_1700000001_ab', 'agent', 'a9000000-0000-4000-8000-000000000001', 'Sorry Dewi, I am resending it today.', NULL, '2025-11-01 09:02:00+00'),
  ('3a000000-0000-4000-8000-000000000004', 'chat_1700000001_ab', 'user', NULL, NULL, 'https://xyz.supabase.co/storage/v1/object/public/chat-images/receipt.png', '2025-11-01 09:03:00+00'),
  ('3a000000-0000-4000-8000-000000000005', 'chat_1700000002_cd', 'user', NULL, 'How long does a refund take?', NULL, '2025-11-03 10:00:00+00'),
  -- an agent message naming no agent, in a chat whose ticket names one: that agent
  ('3a000000-0000-4000-8000-000000000006', 'chat_1700000002_cd', 'agent', NULL, 'About five working days.', NULL, '2025-11-03 10:04:00+00'),
  ('3a000000-0000-4000-8000-000000000007', 'chat_1700000003_ef', 'user', NULL, 'Hello? Is anyone there?', NULL, '2025-11-04 11:00:00+00'),
  -- an agent message in a chat nobody is assigned to, naming no agent: reported
  ('3a000000-0000-4000-8000-000000000008', 'chat_1700000003_ef', 'agent', NULL, 'Hi!', NULL, '2025-11-04 11:01:00+00'),
  -- neither text nor image: reported
  ('3a000000-0000-4000-8000-000000000009', 'chat_1700000004_gh', 'user', NULL, NULL, NULL, '2025-11-05 12:00:30+00'),
  ('3a000000-0000-4000-8000-000000000010', 'chat_1700000004_gh', 'user', NULL, 'I got an M, ordered an L', NULL, '2025-11-05 12:00:10+00');
