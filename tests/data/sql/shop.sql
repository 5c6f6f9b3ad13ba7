-- Rows for the shop layer (tests/data/sql/shop_layer.yaml); integration tests load this into a temp SQLite file.
CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT, email TEXT, region TEXT, signed_on DATE);
CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT, price NUMERIC);
CREATE TABLE orders (id INTEGER PRIMARY KEY, client_id INTEGER REFERENCES clients(id), item_id INTEGER REFERENCES items(id),
                     amount NUMERIC, quantity INTEGER, ordered_on DATE, channel TEXT);
INSERT INTO clients VALUES (1, 'Acme Corp', 'buyer@acme.example', 'East', '2023-02-01'),
                           (2, 'Globex', 'ops@globex.example', 'West', '2024-05-10'),
                           (3, 'Initech', 'it@initech.example', 'East', '2024-09-30'),
                           (4, 'Umbrella Labs', 'lab@umbrella.example', 'North', '2025-01-15');
INSERT INTO items VALUES (1, 'Monitor', 300), (2, 'Gateway', 120), (3, 'Sensor', 15);
INSERT INTO orders VALUES (1, 1, 1, 600, 2, '2024-01-15', 'online'),
                          (2, 1, 2, 240, 2, '2024-02-20', 'partner'),
                          (3, 2, 1, 900, 3, '2024-02-28', 'online'),
                          (4, 2, 3, 150, 10, '2024-04-02', 'online'),
                          (5, 3, 2, 120, 1, '2025-01-09', 'partner'),
                          (6, 1, 1, 300, 1, '2025-02-11', 'online'),
                          (7, 3, 3, 45, 3, '2025-04-30', 'partner'),
                          (8, 2, 2, 480, 4, '2025-05-05', 'online');
