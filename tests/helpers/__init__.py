"""What tests share: servers, browsers and clips (``apps``), the service and its Redis (``service``), test hosts
in network namespaces (``netlink``), decks, images and datasets made for tests, and the COCO oracle."""
