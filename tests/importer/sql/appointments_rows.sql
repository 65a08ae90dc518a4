-- Individuals and volunteers (Stream user ids are the auth uid, as text).
INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES
  ('d1000000-0000-4000-8000-000000000001', 'nina@example.com', '{"full_name": "Nina Individual"}'),
  ('d1000000-0000-4000-8000-000000000002', 'omar@example.com', '{"full_name": "Omar Individual"}'),
  ('e2000000-0000-4000-8000-000000000001', 'vera@volunteers.example', '{"full_name": "Vera Volunteer"}');

INSERT INTO appointments (id, individual_id, volunteer_id, start_time, end_time, status, created_at) VALUES
  -- over, its chat closed by the cron job 6 hours after the end
  (1, 'd1000000-0000-4000-8000-000000000001', 'e2000000-0000-4000-8000-000000000001', '2025-09-01 15:00:00+00', '2025-09-01 16:00:00+00', 'completed', '2025-08-20 10:00:00+00'),
  -- still to come, its chat active
  (2, 'd1000000-0000-4000-8000-000000000002', 'e2000000-0000-4000-8000-000000000001', '2030-05-06 09:00:00+00', '2030-05-06 10:00:00+00', 'scheduled', '2025-09-02 10:00:00+00'),
  -- cancelled: its chat closed by hand
  (3, 'd1000000-0000-4000-8000-000000000001', 'e2000000-0000-4000-8000-000000000001', '2025-09-10 15:00:00+00', '2025-09-10 16:00:00+00', 'canceled', '2025-09-03 10:00:00+00'),
  -- double-booked with 2 in the old app: Parlour never books an expert twice at once
  (4, 'd1000000-0000-4000-8000-000000000001', 'e2000000-0000-4000-8000-000000000001', '2030-05-06 09:30:00+00', '2030-05-06 10:30:00+00', 'scheduled', '2025-09-04 10:00:00+00'),
  -- ends before it starts
  (5, 'd1000000-0000-4000-8000-000000000002', 'e2000000-0000-4000-8000-000000000001', '2030-06-01 10:00:00+00', '2030-06-01 09:00:00+00', 'scheduled', '2025-09-05 10:00:00+00');

INSERT INTO appointment_chats (appointment_id, stream_channel_id, created_at, closed_at, status) VALUES
  (1, 'appointment-1', '2025-08-20 10:00:05+00', '2025-09-01 22:00:00+00', 'closed'),
  (2, 'appointment-2', '2025-09-02 10:00:05+00', NULL, 'active'),
  (3, 'appointment-3', '2025-09-03 10:00:05+00', '2025-09-05 08:00:00+00', 'closed');

INSERT INTO chat_logs (appointment_id, stream_message_id, sender_id, content, message_type, created_at, is_system_message) VALUES
  (1, 'msg-1', 'system', 'Chat opened for your appointment on 1 September.', 'system', '2025-08-20 10:00:06+00', true),
  (1, 'msg-3', 'e2000000-0000-4000-8000-000000000001', 'Hi Nina, see you at three.', 'text', '2025-09-01 14:00:00+00', false),
  (1, 'msg-2', 'd1000000-0000-4000-8000-000000000001', 'Looking forward to it!', 'text', '2025-08-21 09:00:00+00', false),
  (1, 'msg-4', 'bot', 'Reminder: your appointment starts in 1 hour.', 'bot', '2025-09-01 14:00:00+00', false),
  (2, 'msg-5', 'd1000000-0000-4000-8000-000000000002', 'Can we talk about my CV?', 'text', '2025-09-02 11:00:00+00', false),
  -- a sender Stream knew but the app's users do not: reported
  (2, 'msg-6', 'ghost-user', 'Hello from nowhere', 'text', '2025-09-02 11:05:00+00', false);
