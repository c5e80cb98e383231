namespace rotator::sim {}
