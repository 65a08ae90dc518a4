INSERT INTO distributors (id, name, email, phone) VALUES
  ('f1000000-0000-4000-8000-000000000001', 'Mitra Sejahtera', 'ops@mitra.example', '+6221555000');
INSERT INTO customers (id, distributor_id, name, phone, email, created_at) VALUES
  ('f2000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'Budi', '+628111111111', NULL, '2025-07-01 00:00:00+00'),
  ('f2000000-0000-4000-8000-000000000002', 'f1000000-0000-4000-8000-000000000001', 'Citra', '+628222222222', 'citra@example.com', '2025-07-02 00:00:00+00');
INSERT INTO conversations (id, customer_id, distributor_id, channel, status, ai_context_summary, unread_count, last_message_at, created_at, updated_at) VALUES
  ('f3000000-0000-4000-8000-000000000001', 'f2000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'whatsapp', 'active', 'Budi reorders rice weekly; asked about delivery days.', 2, '2025-07-10 08:05:00+00', '2025-07-10 08:00:00+00', '2025-07-10 08:05:00+00'),
  ('f3000000-0000-4000-8000-000000000002', 'f2000000-0000-4000-8000-000000000002', 'f1000000-0000-4000-8000-000000000001', 'sms', 'closed', NULL, 0, '2025-07-11 09:01:00+00', '2025-07-11 09:00:00+00', '2025-07-11 09:30:00+00');
INSERT INTO messages (id, conversation_id, sender_type, message_type, content, media_url, external_message_id, created_at) VALUES
  ('f4000000-0000-4000-8000-000000000001', 'f3000000-0000-4000-8000-000000000001', 'customer', 'Text', 'Halo, kapan pengiriman berikutnya?', NULL, 'SM11111111111111111111111111111111', '2025-07-10 08:00:00+00'),
  ('f4000000-0000-4000-8000-000000000002', 'f3000000-0000-4000-8000-000000000001', 'ai', 'Text', 'Pengiriman berikutnya hari Kamis.', NULL, 'SM22222222222222222222222222222222', '2025-07-10 08:01:00+00'),
  ('f4000000-0000-4000-8000-000000000003', 'f3000000-0000-4000-8000-000000000001', 'customer', 'Media', NULL, 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM3/Media/ME3', 'MM33333333333333333333333333333333', '2025-07-10 08:05:00+00'),
  ('f4000000-0000-4000-8000-000000000004', 'f3000000-0000-4000-8000-000000000002', 'customer', 'Text', 'Stop', NULL, 'SM44444444444444444444444444444444', '2025-07-11 09:00:00+00'),
  ('f4000000-0000-4000-8000-000000000005', 'f3000000-0000-4000-8000-000000000002', 'distributor', 'Text', 'You are unsubscribed.', NULL, 'SM55555555555555555555555555555555', '2025-07-11 09:01:00+00'),
  -- the provider's retry stored twice by the old webhook: reported, imported once
  ('f4000000-0000-4000-8000-000000000006', 'f3000000-0000-4000-8000-000000000002', 'distributor', 'Text', 'You are unsubscribed.', NULL, 'SM55555555555555555555555555555555', '2025-07-11 09:01:01+00');
